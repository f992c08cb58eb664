"""simap -> QDPX -> a fresh simap project: the same ventures, texts, codes per coder, evidence spans,
scores and memos, compared field by field; and the shipped demo QDPX is what its script writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simap.cli import app
from simap.demo import QDPX_PATH
from simap.demo.make_qdpx import build_demo_qdpx
from simap.pipeline import Project
from simap.store import repo

runner = CliRunner()


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _assignments(proj: Project) -> dict[tuple[str, str, str], dict]:
    rows = repo.load_assignment_rows(proj.store)
    out = {}
    for r in rows.to_dict("records"):
        evidence = [{k: e.get(k) for k in ("field", "start", "end", "text")} for e in r["evidence"]]
        out[(r["venture_id"], r["code_id"], r["coder"])] = {
            "source": r["source"],
            "status": r["status"],
            "score": _clean(r["score"]),
            "evidence": evidence,
            "memo": _clean(r["memo"]),
        }
    return out


def _ventures(proj: Project) -> list[dict]:
    frame = repo.load_ventures(proj.store).drop(columns=["source"])
    return [{k: _clean(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def _documents(proj: Project) -> list[tuple[str, str, str]]:
    docs = repo.load_documents(proj.store)
    return sorted(zip(docs["venture_id"], docs["field"], docs["text"], strict=True))


@pytest.fixture
def round_trip(coded_project, tmp_path: Path):
    out = tmp_path / "out.qdpx"
    coded_project.export_project(out, min_score=0.0)  # every machine suggestion goes out
    fresh = Project.open(tmp_path / "fresh.db")
    report = fresh.import_path(out, strict=True)
    yield coded_project, fresh, report, out
    fresh.close()


def test_ventures_and_texts_are_the_same(round_trip) -> None:
    original, fresh, report, _ = round_trip
    assert report.warnings == [] and report.convention.startswith("code points")
    assert _ventures(fresh) == _ventures(original)
    assert _documents(fresh) == _documents(original)


def test_codes_per_coder_evidence_scores_and_memos_field_by_field(round_trip) -> None:
    original, fresh, _, _ = round_trip
    before, after = _assignments(original), _assignments(fresh)
    assert set(after) == set(before)
    for key, row in before.items():
        for fld in ("source", "status", "score", "evidence", "memo"):
            assert after[key][fld] == row[fld], (key, fld)
    assert {k[2] for k in after} == {"ana", "Bruno Müller", "zeroshot:fake:test"}


def test_export_codes_of_both_projects_are_equal(round_trip, tmp_path: Path) -> None:
    original, fresh, _, _ = round_trip
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    original.export_codes(a)
    fresh.export_codes(b)
    rows_a = [json.loads(line) for line in a.read_text(encoding="utf-8").splitlines()]
    rows_b = [json.loads(line) for line in b.read_text(encoding="utf-8").splitlines()]
    assert rows_a == rows_b
    agua = next(r for r in rows_a if r["id"] == "agua-viva")
    assert agua["codes"] == ["DATA", "FUND"]  # ana's rejection of OPEN overrides the machine


def test_codebook_comes_back_and_a_second_export_is_byte_identical(round_trip, tmp_path: Path) -> None:
    original, fresh, _, out = round_trip
    book_a, book_b = original.current_codebook(), fresh.current_codebook()
    assert [c.model_dump() for c in book_b.codes] == [c.model_dump() for c in book_a.codes]
    again = tmp_path / "again.qdpx"
    fresh.export_project(again, min_score=0.0, name="p")
    original.export_project(out, min_score=0.0, name="p")
    assert again.read_bytes() == out.read_bytes()


def test_default_export_keeps_the_present_codes(coded_project, tmp_path: Path) -> None:
    """At the default min_score, suggestions below it stay behind, but every venture keeps its codes."""
    out = tmp_path / "d.qdpx"
    coded_project.export_project(out)
    db = str(tmp_path / "d.db")
    result = runner.invoke(app, ["import", str(out), "-p", db])
    assert result.exit_code == 0, result.output
    for proj_db, name in ((coded_project.store.url.removeprefix("sqlite:///"), "a"), (db, "b")):
        result = runner.invoke(
            app, ["export", "codes", "-p", proj_db, "--out", str(tmp_path / f"{name}.jsonl")]
        )
        assert result.exit_code == 0, result.output
    codes = [
        {json.loads(line)["id"]: json.loads(line)["codes"] for line in (tmp_path / f"{n}.jsonl").open()}
        for n in "ab"
    ]
    assert codes[0] == codes[1]


def test_shipped_demo_qdpx_is_what_the_script_writes(tmp_path: Path) -> None:
    fresh = build_demo_qdpx(tmp_path / "demo.qdpx")
    assert fresh.read_bytes() == Path(str(QDPX_PATH)).read_bytes(), "run python -m simap.demo.make_qdpx"
    with Project.open(tmp_path / "demo.db") as proj:
        report = proj.import_path(Path(str(QDPX_PATH)), strict=True)
        assert report.total == 45 and report.coders == ["demo analyst"] and report.warnings == []
        from simap.demo import load_gold

        gold = load_gold()
        present = proj.present_codes(codebook=proj.current_codebook())
        assert present == {vid: codes for vid, codes in gold.items()}
