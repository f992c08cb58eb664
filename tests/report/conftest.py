from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from simap.batches import ASSIGNMENT_COLUMNS, VENTURE_COLUMNS
from simap.codebook.schema import Codebook


class Builders:
    """Small hand-made frames for report tests (exposed as the ``mk`` fixture)."""

    @staticmethod
    def codebook() -> Codebook:
        return make_codebook()

    @staticmethod
    def ventures(ids: list[str]) -> pd.DataFrame:
        return make_ventures(ids)

    @staticmethod
    def row(venture: str, code: str, **kw: Any) -> dict[str, Any]:
        return row(venture, code, **kw)

    @staticmethod
    def assignments(rows: list[dict[str, Any]]) -> pd.DataFrame:
        return make_assignments(rows)


def make_codebook() -> Codebook:
    def code(cid: str, kind: str, **kw: Any) -> dict[str, Any]:
        return {"id": cid, "kind": kind, "name": f"name of {cid}", "definition": f"def of {cid}", **kw}

    return Codebook.model_validate(
        {
            "name": "test-book",
            "codes": [
                code("DP1", "design_principle"),
                code("DP2", "design_principle"),
                code("B1", "barrier"),
                code("B2", "barrier"),
                code("X9", "barrier", retired=True),
                code("C1", "challenge"),
            ],
        }
    )


def make_ventures(ids: list[str]) -> pd.DataFrame:
    rows = [
        {
            "id": v,
            "name": f"Venture {v}",
            "country": "KE",
            "sector": "health",
            "year": 2020,
            "metadata": {},
            "source": f"t.csv:{i + 2}",
        }
        for i, v in enumerate(ids)
    ]
    return pd.DataFrame(rows, columns=VENTURE_COLUMNS)


def row(
    venture: str,
    code: str,
    *,
    source: str = "machine",
    score: float | None = 0.9,
    status: str = "suggested",
    text: str | None = "a sentence",
    kind: str = "design_principle",
) -> dict[str, Any]:
    evidence = (
        [{"field": "description", "start": 0, "end": len(text), "text": text, "score": score}] if text else []
    )
    return {
        "venture_id": venture,
        "code_id": code,
        "kind": kind,
        "source": source,
        "coder": "tfidf" if source == "machine" else "alice",
        "score": score,
        "status": status,
        "evidence": evidence,
    }


def make_assignments(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=ASSIGNMENT_COLUMNS)


@pytest.fixture
def codebook() -> Codebook:
    return make_codebook()


@pytest.fixture
def mk() -> type[Builders]:
    return Builders


@pytest.fixture
def sample(mk: type[Builders]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ventures, assignments) with a hostile venture name and evidence text."""
    ventures = mk.ventures(["v1", "v2", "v3", "v4"])
    ventures.loc[0, "name"] = "<script>alert('x')</script> & Co"
    ventures.loc[1, "country"] = None
    assignments = mk.assignments(
        [
            mk.row("v1", "DP1", score=0.91, text='Youth build <b>apps</b> "for" their town.'),
            mk.row("v1", "B1", score=0.8, kind="barrier", text="Open alternative to locked-in systems."),
            mk.row("v2", "DP1", score=0.6, text="Learners produce content."),
            mk.row("v2", "DP2", score=0.3, text="Below the threshold."),
            mk.row("v2", "DP2", source="human", score=None, status="accepted", text=None),
            mk.row("v3", "B2", score=0.7, kind="barrier", text="Field data collection."),
            mk.row("v3", "B2", source="human", score=None, status="rejected", text=None),
            mk.row("v3", "C1", score=0.2, kind="challenge", text="Hard to hire developers."),
        ]
    )
    return ventures, assignments
