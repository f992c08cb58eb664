"""The advise commands: thin shells over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from simap.cli import app, main

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout  # progress bars go to stderr


def test_advise_solutions_and_questionnaire(tmp_path: Path) -> None:
    assert "Mobile data collection toolkit" in invoke("advise", "solutions", "--code", "B2")
    items = json.loads(invoke("advise", "solutions", "--json"))
    assert {i["code_id"] for i in items} >= {"B1", "B4", "C1", "C5"}
    out = tmp_path / "answers.yaml"
    invoke("advise", "questionnaire", "--out", str(out))
    assert yaml.safe_load(out.read_text())["questionnaire"] == "simap-intake"
    assert "c1_hiring:" in invoke("advise", "questionnaire")


def test_diagnose_and_portfolio(advice_project, tmp_path: Path) -> None:
    db = advice_project.store.url.replace("sqlite:///", "")
    answers = tmp_path / "a.yaml"
    answers.write_text("answers:\n  b2_data_chain: yes\n  c2_grant_share: none\n  countries: [Kenya]\n")
    out = invoke(
        "diagnose", "-p", db, "--answers", str(answers), "--min-score", "0.99",
        "-o", str(tmp_path / "d.md"), "-o", str(tmp_path / "d.html"),
    )  # fmt: skip
    assert "Barriers: B2" in out and (tmp_path / "d.html").exists()
    assert "[E1](#E1)" in (tmp_path / "d.md").read_text()
    data = json.loads(invoke("diagnose", "-p", db, "--venture", "v6", "--json", "--min-score", "0.99"))
    assert data["name"] == "CodeGirls"
    ids = tmp_path / "ids.txt"
    ids.write_text("v1\nv6\n")
    out = invoke("portfolio", "-p", db, "--ventures", str(ids), "-o", str(tmp_path / "p.html"))
    assert "Coverage" in out and (tmp_path / "p.html").exists()
    data = json.loads(invoke("portfolio", "-p", db, "--ids", "v1,v2", "--json"))
    assert data["n_portfolio"] == 2


def test_errors_exit_with_a_code(advice_project, tmp_path: Path, monkeypatch, capsys) -> None:
    db = advice_project.store.url.replace("sqlite:///", "")

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["simap", *args])
        with pytest.raises(SystemExit) as exc:
            main()
        return int(exc.value.code or 0), capsys.readouterr().err

    code, err = run("diagnose", "-p", db)
    assert code == 2 and "needs a description" in err
    code, err = run("portfolio", "-p", db, "--ids", "nope")
    assert code == 3
    code, err = run("portfolio", "-p", db)
    assert code == 2 and "exactly one" in err
    code, err = run("diagnose", "-p", str(tmp_path / "missing.db"), "--text", "x")
    assert code == 3
