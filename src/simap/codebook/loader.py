"""Load, validate and export codebooks (built-in by name, or YAML/JSON files)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simap.codebook.schema import Codebook
from simap.errors import InvalidCodebook, NotFound

BUILTIN_PACKAGE = "simap.codebook.builtin"
DEFAULT_CODEBOOK = "social-innovation"


def builtin_names() -> list[str]:
    root = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def _yaml_line_of_code(text: str, index: int) -> int | None:
    """Best-effort line number of the ``index``-th item under ``codes:`` in YAML text."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None or not hasattr(node, "value"):
        return None
    for key, value in node.value:
        if getattr(key, "value", None) == "codes" and hasattr(value, "value"):
            items = value.value
            if 0 <= index < len(items):
                return int(items[index].start_mark.line) + 1
    return None


def from_dict(data: Any, *, source: str = "<codebook>", text: str | None = None) -> Codebook:
    if not isinstance(data, dict):
        raise InvalidCodebook(
            f"a codebook must be a mapping with 'name' and 'codes'; got {type(data).__name__}.",
            source=source,
            hint="see docs/codebooks.md for the format",
        )
    try:
        return Codebook.model_validate(data)
    except ValidationError as exc:
        messages = []
        first_line = None
        first_field = None
        for err in exc.errors():
            loc = list(err["loc"])
            where = ".".join(str(x) for x in loc) or "(codebook)"
            if len(loc) >= 2 and loc[0] == "codes" and isinstance(loc[1], int):
                codes = data.get("codes") or []
                idx = loc[1]
                code_id = codes[idx].get("id") if idx < len(codes) and isinstance(codes[idx], dict) else None
                rest = ".".join(str(x) for x in loc[2:]) or "(code)"
                where = f"code {code_id or '#' + str(idx + 1)!s} field '{rest}'"
                if first_line is None and text is not None:
                    first_line = _yaml_line_of_code(text, idx)
            if first_field is None:
                first_field = ".".join(str(x) for x in loc)
            got = err.get("input")
            got_s = "" if isinstance(got, dict | list) else f" (got {got!r})"
            messages.append(f"{where}: {err['msg']}{got_s}")
        raise InvalidCodebook(
            "codebook does not validate: " + "; ".join(messages),
            source=source,
            line=first_line,
            field=first_field,
            hint="correct the field(s) named above; `simap codebook validate FILE` re-checks",
            details=messages,
        ) from None


def load_file(path: str | Path) -> Codebook:
    path = Path(path)
    if not path.exists():
        raise NotFound(f"codebook file {str(path)!r} does not exist.", hint="check the path")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        line = None
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        elif isinstance(exc, json.JSONDecodeError):
            line = exc.lineno
        raise InvalidCodebook(
            f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}",
            source=str(path),
            line=line,
            hint="fix the syntax at that line",
        ) from None
    return from_dict(data, source=str(path), text=text)


def load(name_or_path: str | Path | None = None) -> Codebook:
    """Load a built-in codebook by name, or a YAML/JSON/QDC file by path."""
    ref = str(name_or_path or DEFAULT_CODEBOOK)
    if ref in builtin_names():
        text = resources.files(BUILTIN_PACKAGE).joinpath(f"{ref}.yaml").read_text(encoding="utf-8")
        return from_dict(yaml.safe_load(text), source=f"built-in codebook {ref!r}", text=text)
    path = Path(ref)
    if path.suffix.lower() == ".qdc":  # REFI-QDA codebook (NVivo, ATLAS.ti, MAXQDA, QualCoder, ...)
        from simap.interop.qdc import read_qdc

        return read_qdc(path).codebook
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.exists():
        return load_file(path)
    raise NotFound(
        f"no codebook named {ref!r}; built-in codebooks are: {', '.join(builtin_names())}.",
        hint="pass a built-in name or the path of a .yaml/.json codebook file",
    )


def dump(codebook: Codebook, fmt: str = "yaml") -> str:
    data = codebook.model_dump(mode="json", exclude_defaults=True)
    data = {"name": codebook.name, **data}
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        from simap.cells import safe_values

        writer.writerow(["id", "kind", "name", "definition", "include", "exclude", "examples"])
        for c in codebook.codes:
            writer.writerow(
                safe_values(
                    [
                        c.id,
                        c.kind,
                        c.name,
                        c.definition,
                        " | ".join(c.include),
                        " | ".join(c.exclude),
                        " | ".join(c.examples),
                    ]
                )
            )
        return buf.getvalue()
    from simap.errors import InvalidInput

    raise InvalidInput(f"export format must be one of yaml, json, csv; got {fmt!r}.", field="format")
