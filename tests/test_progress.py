"""Progress bars of long commands (issue 12 item 10): Rich, with ETA, on stderr, silent with --quiet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simap.cli import app
from simap.demo import GOLD_PATH, VENTURES_PATH
from simap.progress import progress_bar, stage

runner = CliRunner()
BAR = re.compile(r"\d+/\d+ +\d+:\d\d:\d\d +ETA +(\d+:\d\d:\d\d|-:--:--)")


def run(*args: str) -> tuple[str, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("progress") / "p.db")
    run("--quiet", "import", str(VENTURES_PATH), "-p", path)
    run("--quiet", "code", "-p", path, "-e", "fake", "-w", "1")
    run("import-codes", str(GOLD_PATH), "--coder", "ana", "-p", path)
    return path


def commands(db: str, tmp: Path) -> dict[str, list[str]]:
    return {
        "cross-validate": ["evaluate", "-p", db, "--cv", "2", "-e", "fake", "--json"],
        "discover": ["discover", "-p", db, "-e", "fake", "-o", str(tmp / "t.json"), "--min-ventures", "2"],
        "report data": [
            "report", "-p", db, "--no-pdf", "--text-embedder", "none", "-o", str(tmp / "r.html"),
        ],
        "diagnose": ["diagnose", "-p", db, "--text", "Farmers share survey data openly.", "--json"],
    }  # fmt: skip


@pytest.mark.parametrize("stage_name", ["cross-validate", "discover", "report data", "diagnose"])
def test_long_commands_show_progress_on_stderr_only(db: str, tmp_path: Path, stage_name: str) -> None:
    args = commands(db, tmp_path)[stage_name]
    out, err = run(*args)
    assert stage_name in err and BAR.search(err)  # the bar with its ETA, on stderr
    assert not BAR.search(out)  # stdout stays clean (JSON parses)
    if "--json" in args:
        json.loads(out)
    out, err = run(*args, "--quiet")
    assert err == ""
    out, err = run("--quiet", *args)  # the global flag silences every command
    assert err == ""


def test_import_and_code_progress_and_quiet(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    _, err = run("import", str(VENTURES_PATH), "-p", db)
    assert "import" in err and "45/45" in err  # rows read / rows (the demo file has 45)
    _, err = run("code", "-p", db, "-e", "fake", "-w", "1", "-q")
    assert err == ""


def test_progress_helper_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    with progress_bar(console=Console(file=buf, width=100)) as progress, stage(progress, "work", 4) as step:
        step(2)
    assert "work" in buf.getvalue() and "4/4" in buf.getvalue()
    monkeypatch.setenv("SIMAP_QUIET", "1")
    buf = StringIO()
    with progress_bar(console=Console(file=buf)) as progress:
        progress("work", 1, 1)
    assert buf.getvalue() == ""
