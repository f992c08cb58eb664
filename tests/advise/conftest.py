"""Fixtures for advice tests: a hand-made map (frames, no model) and a small coded project.

The ventures are invented by the simap team for these tests. Their codes are set by hand
(accepted human decisions), so the statistics are known exactly; the fake embedder only gives
the project a coding run and a codebook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from simap import codebook as cb
from simap.advise.landscape import AdviceIndex
from simap.batches import ASSIGNMENT_COLUMNS, VENTURE_COLUMNS

# id, name, countries, sectors, codes
VENTURES: list[tuple[str, str, list[str], list[str], list[str]]] = [
    ("v1", "FieldForms", ["Kenya"], ["Health"], ["B2", "DP5"]),
    ("v2", "CropWatch", ["India"], ["Agriculture"], ["B2", "DP5", "DP2"]),
    ("v3", "WaterLog", ["Peru"], ["Water"], ["B2", "DP5"]),
    ("v4", "OpenClinic", ["Kenya"], ["Health"], ["B2", "DP4"]),
    ("v5", "MapTogether", ["Nepal"], ["Disaster"], ["B2", "DP4", "C5"]),
    ("v6", "CodeGirls", ["Brazil"], ["Education"], ["B3", "DP3", "C1"]),
    ("v7", "SkillsUp", ["Ghana"], ["Education"], ["B3", "DP1"]),
    ("v8", "OpenStack4Good", [], [], ["B1", "DP4", "C2"]),
    ("v9", "QuietApp", ["Kenya"], ["Health"], []),
    ("v10", "Copycat", ["Kenya"], ["Health"], ["B2", "DP5"]),
]


def evidence(text: str, score: float = 0.9) -> list[dict[str, Any]]:
    return [{"field": "description", "start": 0, "end": len(text), "text": text, "score": score}]


def venture_frame() -> pd.DataFrame:
    rows = [
        {
            "id": vid,
            "name": name,
            "country": countries[0] if countries else None,
            "sector": sectors[0] if sectors else None,
            "year": 2020,
            "metadata": {"countries": countries, "sectors": sectors},
            "source": f"fixture:{i + 1}",
        }
        for i, (vid, name, countries, sectors, _codes) in enumerate(VENTURES)
    ]
    return pd.DataFrame(rows, columns=VENTURE_COLUMNS)


def present_frame() -> pd.DataFrame:
    book = cb.load("social-innovation")
    kinds = {c.id: c.kind for c in book.codes}
    rows = [
        {
            "venture_id": vid,
            "code_id": code,
            "kind": kinds[code],
            "source": "human",
            "coder": "tester",
            "score": 0.9,
            "status": "accepted",
            "evidence": evidence(f"{name} shows {code}."),
        }
        for vid, name, _c, _s, codes in VENTURES
        for code in codes
    ]
    return pd.DataFrame(rows, columns=ASSIGNMENT_COLUMNS)


@pytest.fixture
def index() -> AdviceIndex:
    return AdviceIndex.from_frames(
        venture_frame(), present_frame(), cb.load("social-innovation"), min_score=0.5
    )


def _description(name: str, codes: list[str]) -> str:
    return f"{name} is a venture of the simap test fixtures. It works on {' and '.join(codes) or 'nothing'}."


@pytest.fixture
def advice_project(tmp_path: Path):
    """A project with the fixture ventures, coded with the fake embedder, codes set by hand."""
    from simap.pipeline import Project
    from simap.store import repo

    src = tmp_path / "ventures.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for vid, name, countries, sectors, codes in VENTURES:
            rec = {
                "id": vid,
                "name": name,
                "text": _description(name, codes),
                "country": countries,
                "sector": sectors,
            }
            fh.write(json.dumps(rec) + "\n")
    project = Project.open(tmp_path / "advice.db")
    project.import_path(src)
    result = project.code(embedder="fake")
    for vid, name, _c, _s, codes in VENTURES:
        for code in codes:
            repo.record_decision(
                project.store,
                venture_id=vid,
                code_id=code,
                coder="tester",
                status="accepted",
                codebook_version=result.codebook_version,
                evidence=evidence(f"{name} shows {code}."),
            )
    yield project
    project.close()
