from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from simap.batches import ASSIGNMENT_COLUMNS, VENTURE_COLUMNS
from simap.codebook.schema import Codebook


class Builders:
    """Small hand-made frames for map tests (exposed as the ``mk`` fixture)."""

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
