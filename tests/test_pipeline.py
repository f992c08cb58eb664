"""The whole loop through the library facade, on the shipped demo corpus with the fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simap.demo import GOLD_PATH, VENTURES_PATH
from simap.errors import InvalidInput, NotFound
from simap.pipeline import Project
from simap.store import repo
from simap.store.schema import Event, Run, Venture


@pytest.fixture
def coded(project_path: Path):
    proj = Project.open(project_path)
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    yield proj
    proj.close()


def test_import_code_map_report_export_evaluate(coded: Project, tmp_path: Path) -> None:
    assert repo.count(coded.store, Venture) >= 35
    with coded.store.session() as s:
        run = s.query(Run).filter_by(kind="code").one()
    assert run.status == "done" and run.model.startswith("zeroshot:fake")
    assert run.params["embedder"].startswith("fake") and run.codebook_version
    a = coded.assignments(coded.current_codebook())
    assert set(a["status"]) == {"suggested"} and a["coder"].nunique() == 1
    assert len(a) == repo.count(coded.store, Venture) * 14

    landscape = coded.build_map()
    assert list(landscape.prevalence["code_id"])[:2] == ["DP1", "DP2"]
    html = coded.write_report(tmp_path / "map.html")
    text = html.read_text()
    assert "Social Innovation Map" in text and "zeroshot:fake" in text

    n = coded.export_codes(tmp_path / "codes.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "codes.jsonl").read_text().splitlines()]
    assert n == len(rows) == repo.count(coded.store, Venture)
    assert {"id", "codes", "details"} <= set(rows[0])
    assert coded.export_codes(tmp_path / "codes.csv", fmt="csv") == n

    report = coded.evaluate(Path(str(GOLD_PATH)))
    assert report.n_items == n and -1 <= report.pooled["kappa"] <= 1


def test_human_decision_overrides_machine_on_the_map(coded: Project) -> None:
    book = coded.current_codebook()
    before = coded.present_codes(codebook=book, min_score=0.0)
    assert "DP1" in before["ushahidi"]
    repo.record_decision(
        coded.store,
        venture_id="ushahidi",
        code_id="DP1",
        coder="ana",
        status="rejected",
        codebook_version=book.version,
    )
    after = coded.present_codes(codebook=book, min_score=0.0)
    assert "DP1" not in after["ushahidi"]
    assert coded.present_codes(codebook=book, include_suggestions=False)["ushahidi"] == set()


def test_recoding_replaces_machine_suggestions(coded: Project) -> None:
    n = len(coded.assignments(coded.current_codebook()))
    coded.code(embedder="fake")
    assert len(coded.assignments(coded.current_codebook())) == n
    actions = repo.load_events(coded.store)["action"].tolist()
    assert actions.count("machine_coded") == 2


def test_code_needs_ventures_and_map_needs_coding(project_path: Path) -> None:
    with Project.open(project_path) as proj:
        with pytest.raises(NotFound, match="simap import"):
            proj.code(embedder="fake")
        with pytest.raises(NotFound, match="simap code"):
            proj.build_map()


def test_bad_row_writes_nothing(project_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "v.jsonl"
    src.write_text(
        json.dumps({"id": "a", "name": "A", "description": "We map."})
        + "\n"
        + json.dumps({"id": "b", "name": "B", "description": ""})
        + "\n"
    )
    with Project.open(project_path) as proj:
        with pytest.raises(InvalidInput) as err:
            proj.import_path(src)
        assert "v.jsonl" in str(err.value) and "line 2" in str(err.value)
        assert repo.count(proj.store, Venture) == 0 and repo.count(proj.store, Event) == 0
        stats = proj.import_path(src, skip_invalid=True)
        assert stats.created == 1 and len(stats.skipped) == 1


def test_evaluate_rejects_unknown_codes(coded: Project, tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps({"id": "ushahidi", "codes": ["ZZ9"]}) + "\n")
    with pytest.raises(InvalidInput, match="ZZ9"):
        coded.evaluate(gold)
