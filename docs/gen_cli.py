"""Generate docs/cli.md from the command tree (run: python docs/gen_cli.py; a test checks it is current)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

HERE = Path(__file__).resolve().parent


def _is_group(cmd: Any) -> bool:
    return hasattr(cmd, "commands")


def _walk(cmd: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    out = [(path, cmd)]
    if _is_group(cmd):
        for name in sorted(cmd.commands):
            out.extend(_walk(cmd.commands[name], [*path, name]))
    return out


def render() -> str:
    from simap.cli import app

    root = typer.main.get_command(app)
    lines = [
        "# simap command reference",
        "",
        "Generated from the command tree by `python docs/gen_cli.py`; `simap COMMAND --help` says the same.",
        "Every command that reads a project takes `--project/-p` (a SQLite file or a database URL;",
        "environment variable `SIMAP_PROJECT`). Errors print one line and exit with a non-zero code:",
        "2 invalid input, 3 not found, 4 backend unavailable, 5 migration failed.",
        "",
    ]
    for path, cmd in _walk(root, ["simap"]):
        if _is_group(cmd) and len(path) > 1:
            lines += [f"## `{' '.join(path)}`", "", (cmd.help or "").strip(), ""]
            continue
        if _is_group(cmd):
            continue
        lines += [f"### `{' '.join(path)}`", "", (cmd.help or "").strip(), ""]
        rows = []
        for p in cmd.params:
            if p.param_type_name == "argument":
                name = (p.name or "").upper()
                rows.append((f"`{name}`", getattr(p, "help", None) or "argument", ""))
            elif p.param_type_name == "option" and p.name != "help":
                default = "" if p.default is None or (p.is_flag and not p.default) else f"`{p.default}`"
                rows.append((", ".join(f"`{o}`" for o in p.opts), p.help or "", default))
        if rows:
            lines += ["| option | meaning | default |", "|---|---|---|"]
            lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    target = HERE / "cli.md"
    target.write_text(render())
    sys.stdout.write(f"written {target}\n")
