"""The keyboard review loop `simap review` (issue 12, item 3): the prompt letters are printed in
full, after `simap train` each code is asked once, and `q` at "add codes" quits cleanly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from simap.cli import app
from simap.demo import VENTURES_PATH
from simap.pipeline import Project
from simap.store import repo

runner = CliRunner()


@pytest.fixture
def db(project_path: Path) -> str:
    with Project.open(project_path) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
        proj.code(embedder="fake")
    return str(project_path)


def _review(db: str, answers: str) -> str:
    result = runner.invoke(
        app,
        ["review", "-p", db, "--reviewer", "ana", "--n", "1", "--min-score", "0"],
        input=answers,
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_prompt_letters_are_not_eaten_and_q_quits_at_add_codes(db: str) -> None:
    out = _review(db, "s\n" * 30 + "q\n")
    assert "[a]ccept / [r]eject / [s]kip / [q]uit" in out
    assert "ccept / eject" not in out.replace("[a]ccept / [r]eject", "")
    assert "0 decisions recorded." in out and "Traceback" not in out


def test_an_unknown_code_at_add_codes_asks_again(db: str) -> None:
    out = _review(db, "s\n" * 30 + "NOPE\n\n")
    assert "not a code of" in out and "0 decisions recorded." in out


def test_after_training_each_code_is_asked_once(db: str) -> None:
    with Project.open(db) as proj:  # a second machine coder, as `simap train` leaves it
        book = proj.current_codebook()
        a = proj.assignments(book)
        machine = a[a["source"] == "machine"].copy()
        run = repo.start_run(
            proj.store, kind="code", codebook_version=book.version, model="supervised:x", params={}
        )
        frame = pd.DataFrame(
            {
                "venture_id": machine["venture_id"],
                "code_id": machine["code_id"],
                "score": 1 - machine["score"].astype(float),
                "raw": 0.0,
                "evidence": machine["evidence"],
            }
        )
        repo.save_machine_suggestions(
            proj.store, frame, coder="supervised:x", codebook_version=book.version, run_id=run
        )
        repo.finish_run(proj.store, run, stats={})
        n_codes = len(book.ids())
    out = _review(db, "s\n" * (2 * n_codes) + "\n")
    assert out.count("[a]ccept") == n_codes
