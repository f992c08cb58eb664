"""Streaming, resumable coding: batches commit as they go, any executor gives the same codes, a
run killed with kill -9 or interrupted resumes after its last committed batch and ends exactly
as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from simap.demo import VENTURES_PATH
from simap.errors import InvalidInput, NotFound
from simap.pipeline import Project
from simap.store import repo
from simap.store.schema import Assignment, Run

SRC = Path(__file__).resolve().parents[1] / "src"


def write_corpus(path: Path, n: int) -> Path:
    """``n`` ventures recombined from the demo corpus's sentences (ids v0000...)."""
    demo = [json.loads(line) for line in VENTURES_PATH.read_text().splitlines() if line.strip()]
    with path.open("w") as fh:
        for i in range(n):
            a, b = demo[i % len(demo)], demo[(i * 7 + 3) % len(demo)]
            text = f"{a['description']} {b['description']}"
            fh.write(json.dumps({"id": f"v{i:04d}", "name": f"Venture {i}", "description": text}) + "\n")
    return path


def suggestions(proj: Project) -> pd.DataFrame:
    """The machine suggestions, compared field by field (scores to 4 decimals)."""
    with proj.store.engine.connect() as conn:
        rows = conn.execute(
            select(
                Assignment.venture_id,
                Assignment.code_id,
                Assignment.score,
                Assignment.raw,
                Assignment.status,
                Assignment.evidence,
                Assignment.run_id,
            ).where(Assignment.source == "machine")
        ).all()
    out = pd.DataFrame(
        [tuple(r) for r in rows], columns=["v", "c", "score", "raw", "status", "evidence", "run"]
    )
    out["score"], out["raw"] = out["score"].round(4), out["raw"].round(4)
    out["evidence"] = [json.dumps([(e["field"], e["start"], e["end"]) for e in ev]) for ev in out["evidence"]]
    return out.sort_values(["v", "c"]).reset_index(drop=True)


def new_project(tmp_path: Path, name: str, corpus: Path) -> Project:
    proj = Project.open(tmp_path / f"{name}.db")
    proj.import_path(corpus)
    return proj


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "ventures.jsonl", 120)


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory) -> pd.DataFrame:
    """One uninterrupted run in a single batch on one process."""
    with Project.open(tmp_path_factory.mktemp("ref") / "ref.db") as proj:
        proj.import_path(corpus)
        proj.code(embedder="fake", batch_ventures=1000, workers=1)
        return suggestions(proj).drop(columns="run")


def test_batches_commit_as_they_go_and_give_the_same_codes(corpus, reference, tmp_path) -> None:
    seen: list[int] = []
    with new_project(tmp_path, "b", corpus) as proj:

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "code" and done:
                # the batch just reported is already in the database
                seen.append(len(suggestions(proj)))
                assert done <= total

        result = proj.code(embedder="fake", batch_ventures=25, workers=1, progress=progress)
        assert result.stats["batches"] == 5 and result.ventures == 120
        assert seen == sorted(seen) and seen[0] < seen[-1]  # rows grew batch by batch
        pd.testing.assert_frame_equal(suggestions(proj).drop(columns="run"), reference)


@pytest.mark.parametrize("executor,workers", [("local", 2), ("dask", 2)])
def test_every_executor_gives_the_same_codes(corpus, reference, tmp_path, executor, workers) -> None:
    if executor == "dask":
        pytest.importorskip("distributed", reason="the dask extra is not installed")
    with new_project(tmp_path, executor, corpus) as proj:
        result = proj.code(embedder="fake", batch_ventures=16, workers=workers, executor=executor)
        assert result.stats["executor"]["executor"] == executor
        pd.testing.assert_frame_equal(suggestions(proj).drop(columns="run"), reference)


def test_the_coder_comes_from_the_registry(corpus, tmp_path) -> None:
    from simap.errors import UnknownBackend

    with new_project(tmp_path, "r", corpus) as proj, pytest.raises(UnknownBackend, match="zeroshot"):
        proj.code(coder="nope")


def test_an_interrupted_run_resumes_after_its_last_batch(corpus, reference, tmp_path) -> None:
    with new_project(tmp_path, "i", corpus) as proj:

        def stop_after_two(stage: str, done: int, total: int) -> None:
            if stage == "code" and done >= 40:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            proj.code(embedder="fake", batch_ventures=20, workers=1, progress=stop_after_two)
        with proj.store.session() as s:
            run = s.execute(select(Run).where(Run.kind == "code")).scalar_one()
            assert run.status == "failed" and run.stats["progress"]["batches"] == 2
            first_id = run.id
        done: list[int] = []
        result = proj.code(
            embedder="fake",
            batch_ventures=20,
            resume=True,
            progress=lambda st, d, t: done.append(d) if st == "code" else None,
        )
        assert result.run_id == first_id and result.stats["resumed"] == 1
        assert done[0] == 40 and done[-1] == 120  # it started after the committed batches
        assert result.ventures == 120 and result.stats["batches"] == 6
        got = suggestions(proj)
        assert set(got["run"]) == {first_id}
        pd.testing.assert_frame_equal(got.drop(columns="run"), reference)


def test_resume_refuses_what_it_cannot_continue(corpus, tmp_path) -> None:
    with new_project(tmp_path, "n", corpus) as proj:
        with pytest.raises(NotFound, match="no interrupted coding run"):
            proj.code(embedder="fake", resume=True)
        proj.code(embedder="fake")
        with pytest.raises(NotFound, match="is done"):
            proj.code(embedder="fake", resume=True)

        def stop(stage: str, done: int, total: int) -> None:
            if stage == "code" and done:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            proj.code(embedder="fake", batch_ventures=30, progress=stop)
        with pytest.raises(InvalidInput, match="codebook version"):
            proj.code(embedder="fake", codebook="sdg", resume=True)
        proj.import_path(write_corpus(tmp_path / "more.jsonl", 130))  # the corpus changed
        with pytest.raises(InvalidInput, match="ventures differ"):
            proj.code(embedder="fake", resume=True)


KILLED_RUN = """
import sys
from simap.pipeline import Project
with Project.open(sys.argv[1]) as proj:
    proj.code(embedder="fake", embedder_params={"delay": 0.15}, batch_ventures=8, workers=1)
"""


def test_kill_9_then_resume_gives_exactly_the_uninterrupted_codes(corpus, reference, tmp_path) -> None:
    db = tmp_path / "k.db"
    with Project.open(db) as proj:
        proj.import_path(corpus)
    env = os.environ | {"PYTHONPATH": str(SRC), "SIMAP_QUIET": "1"}
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(db)], env=env)
    batches = 0
    with Project.open(db) as watcher:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            with watcher.store.session() as s:
                run = s.execute(select(Run).where(Run.kind == "code")).scalar_one_or_none()
                batches = (run.stats or {}).get("progress", {}).get("batches", 0) if run else 0
            if batches >= 3:
                break
            time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert 3 <= batches < 15, "the child should be killed mid-run"
    with Project.open(db) as proj:
        committed = len(suggestions(proj))
        assert 0 < committed < len(reference)  # some batches are in, not all
        result = proj.code(embedder="fake", embedder_params={"delay": 0.15}, batch_ventures=8, resume=True)
        assert result.stats["resumed"] == 1
        with proj.store.session() as s:
            assert [r.status for r in s.execute(select(Run).where(Run.kind == "code")).scalars()] == ["done"]
        pd.testing.assert_frame_equal(suggestions(proj).drop(columns="run"), reference)


def test_memory_holds_one_batch_of_segments(corpus, tmp_path, monkeypatch) -> None:
    sizes: list[int] = []
    real = repo.load_segments

    def spy(store, ids=None):
        assert ids is not None, "coding must never load every segment at once"
        sizes.append(len(ids))
        return real(store, ids)

    monkeypatch.setattr(repo, "load_segments", spy)
    with new_project(tmp_path, "m", corpus) as proj:
        proj.code(embedder="fake", batch_ventures=32)
    assert max(sizes) == 32 and sum(sizes) == 120
