from __future__ import annotations

import pytest

from simap.maps.provenance import review_summary


def test_review_summary(mk) -> None:
    rows = [
        mk.row("v1", "DP1", score=0.9),
        mk.row("v1", "DP1", source="human", status="accepted", score=None, text=None),
        mk.row("v2", "DP1", score=0.8),
        mk.row("v2", "DP1", source="human", status="rejected", score=None, text=None),
        mk.row("v3", "DP1", score=0.7),
    ]
    out = review_summary(mk.assignments(rows), min_score=0.5, include_suggestions=True)
    assert out["human_decisions"] == 2 and out["present_codes"] == 2 and out["present_reviewed"] == 1
    assert out["share_reviewed"] == pytest.approx(0.5)
    assert out["compared_cells"] == 2 and out["agreement"] == pytest.approx(0.5)
