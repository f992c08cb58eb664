"""The command line: thin shell over the library, errors mapped once in main()."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simap.cli import app, main
from simap.demo import GOLD_PATH, VENTURES_PATH

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["simap", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0), " ".join(capsys.readouterr().err.split())


def test_full_loop(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    out = invoke("import", str(VENTURES_PATH), "-p", db)
    assert "new" in out
    out = invoke("code", "-p", db, "--embedder", "fake", "--workers", "1")
    assert "Coded" in out and "zeroshot:fake" in out
    out = invoke("map", "-p", db, "--html", str(tmp_path / "m.html"))
    assert "DP1" in out and (tmp_path / "m.html").exists()
    invoke("export", "codes", "-p", db, "--out", str(tmp_path / "c.csv"), "--format", "csv")
    assert (tmp_path / "c.csv").read_text().startswith("id,")
    out = invoke("evaluate", "-p", db, "--gold", str(GOLD_PATH), "--json")
    assert json.loads(out)["n_items"] >= 35
    out = invoke("db", "status", "-p", db)
    assert "pending migrations: none" in out and "ventures:" in out


def test_codebook_commands(tmp_path: Path) -> None:
    assert "social-innovation" in invoke("codebook", "list")
    assert "B2" in invoke("codebook", "show")
    assert "Broken data value chain" in invoke("codebook", "show", "--code", "B2")
    out_file = tmp_path / "cb.yaml"
    invoke("codebook", "export", "sdg", "--out", str(out_file))
    assert "valid" in invoke("codebook", "validate", str(out_file))


def test_broken_codebook_names_file_code_and_field(tmp_path: Path, monkeypatch, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: mine\ncodes:\n  - id: X1\n    kind: barrier\n    name: ok\n    definition: d\n"
        "  - id: X2\n    kind: Barrier Kind\n    name: two\n    definition: d\n"
    )
    code, err = run_main(monkeypatch, capsys, "codebook", "validate", str(bad))
    assert code == 2
    assert "bad.yaml" in err and "X2" in err and "kind" in err and "line 7" in err


def test_errors_are_one_line_with_exit_codes(tmp_path: Path, monkeypatch, capsys) -> None:
    code, err = run_main(monkeypatch, capsys, "code", "-p", str(tmp_path / "e.db"), "--embedder", "fake")
    assert code == 3 and "simap import" in err and "Traceback" not in err
    code, err = run_main(monkeypatch, capsys, "code", "-p", str(tmp_path / "e.db"), "--embedder", "nope")
    assert code in (2, 3)
    src = tmp_path / "v.jsonl"
    src.write_text(
        '{"id": "a", "name": "A", "description": "x"}\n{"id": "a", "name": "A2", "description": "y"}\n'
    )
    code, err = run_main(monkeypatch, capsys, "import", str(src), "-p", str(tmp_path / "e.db"))
    assert code == 2 and "v.jsonl" in err and "line 2" in err


def test_unknown_embedder_lists_valid_names(tmp_path: Path, monkeypatch, capsys) -> None:
    db = str(tmp_path / "u.db")
    invoke("import", str(VENTURES_PATH), "-p", db)
    code, err = run_main(monkeypatch, capsys, "code", "-p", db, "--embedder", "nope")
    assert code == 2 and "tfidf" in err and "static" in err and "minilm" in err


def test_backends_lists_every_registry() -> None:
    out = invoke("backends")
    for name in ("jsonl", "folder", "dpg", "tfidf", "static", "minilm", "zeroshot"):
        assert name in out


def test_usage_errors_are_messages_not_tracebacks(monkeypatch, capsys) -> None:
    code, err = run_main(monkeypatch, capsys, "train", "--level", "bogus")
    assert code == 2 and "'bogus' is not one of 'auto', 'sentence', 'venture'" in err
    assert "Traceback" not in err
    code, err = run_main(monkeypatch, capsys, "nosuch")
    assert code == 2 and "No such command 'nosuch'" in err
