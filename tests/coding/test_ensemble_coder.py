"""The ensemble coder (trained coder + LLM coder) against the in-process fake LLM server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_llm_coder import MODEL, FakeLLM  # the fake OpenAI-compatible server on loopback
from typer.testing import CliRunner

from simap.cli import app
from simap.coding import coders
from simap.coding.ensemble import EnsembleCoder
from simap.demo import GOLD_PATH, VENTURES_PATH
from simap.errors import InvalidInput
from simap.pipeline import Project
from simap.store import repo


def data_model(system: str, user: str) -> dict[str, Any]:
    """Codes B2 on a sentence that mentions data, DP4 on one that mentions open; quotes it."""
    codes = []
    for code, word in (("B2", r"\bdata\b"), ("DP4", r"\bopen\b")):
        for sentence in re.split(r"(?<=\.)\s+|\n+", user):
            if re.search(word, sentence, re.I) and not sentence.startswith(("Venture", "id:")):
                codes.append({"code": code, "quote": sentence.strip(), "rationale": "keyword"})
                break
    return {"codes": codes}


@pytest.fixture
def server():
    fake = FakeLLM()
    fake.reply = data_model
    yield fake
    fake.close()


@pytest.fixture
def trained(project_path: Path):
    proj = Project.open(project_path)
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    proj.import_codes(Path(str(GOLD_PATH)), coder="gold")
    proj.train(embedder="fake", params={"folds": 3})
    yield proj
    proj.close()


def test_ensemble_is_registered() -> None:
    assert "ensemble" in coders.names()


def test_gate_suggests_agreement_and_leaves_disagreement_for_review(trained: Project, server) -> None:
    params = {"base_url": server.base_url, "model": MODEL}
    result = trained.code(coder="ensemble", coder_params=params)
    assert result.coder.startswith("ensemble:gate:supervised:") and result.coder.endswith(f"+llm:{MODEL}")
    run = repo.get_run(trained.store, result.run_id)
    assert run.params["mode"] == "gate" and run.params["llm"]["model"] == MODEL
    assert "prompt_hash" in run.params["llm"] and "method" in run.params["learned"]
    a = repo.load_assignments(trained.store, trained.current_codebook())
    mine = a[a["coder"] == result.coder]
    assert len(mine) == result.suggestions and (mine["status"] == "abstained").any()
    agreed = mine[(mine["status"] == "suggested") & (mine["score"] >= 0.5)]
    # where both say present, the LLM's exact quote leads the evidence
    assert all(ev and ev[0].get("quote_check") for ev in agreed["evidence"])
    assert result.abstained == int((mine["status"] == "abstained").sum())
    present = trained.present_codes(codebook=trained.current_codebook())
    human = a[a["source"] == "human"]
    decided = set(zip(human["venture_id"], human["code_id"], strict=True))
    for v, c in zip(
        mine.loc[mine["status"] == "abstained", "venture_id"],
        mine.loc[mine["status"] == "abstained", "code_id"],
        strict=True,
    ):
        if (v, c) not in decided:
            assert c not in present.get(v, set())


def test_stack_fits_on_the_calibration_data(trained: Project, server) -> None:
    params = {"base_url": server.base_url, "model": MODEL, "mode": "stack", "min_positives": 3}
    result = trained.code(coder="ensemble", coder_params=params)
    run = repo.get_run(trained.store, result.run_id)
    assert run.params["mode"] == "stack" and "B2" in run.params["stacked_codes"]
    # the labelled ventures' LLM answers were asked once and are reused (cache) for coding them
    chats = len(server.chats)
    trained.code(coder="ensemble", coder_params=params)
    assert len(server.chats) == chats


def test_bad_mode_and_missing_model(project_path: Path, server) -> None:
    with pytest.raises(InvalidInput, match="ensemble mode"):
        EnsembleCoder(None, None, mode="vote")
    with Project.open(project_path) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
        from simap.errors import NotFound

        with pytest.raises(NotFound, match="simap train"):
            proj.code(coder="ensemble", coder_params={"base_url": server.base_url, "model": MODEL})


def test_cli_code_with_the_ensemble(trained: Project, project_path: Path, server) -> None:
    r = CliRunner().invoke(
        app,
        [
            "code",
            "-p",
            str(project_path),
            "--coder",
            "ensemble",
            "--llm-base-url",
            server.base_url,
            "--llm-model",
            MODEL,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "ensemble:gate" in " ".join(r.output.split())
