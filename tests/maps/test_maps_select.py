from __future__ import annotations

import pandas as pd
import pytest

from simap.batches import ASSIGNMENT_COLUMNS
from simap.errors import InvalidInput
from simap.maps.select import code_matrix, effective_codes, evidence_list, resolve_assignments


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["venture_id"], frame["code_id"], strict=True))


@pytest.fixture
def assignments(mk) -> pd.DataFrame:
    row = mk.row
    return mk.assignments(
        [
            row("v1", "DP1", score=0.9),  # suggestion above threshold
            row("v1", "DP2", score=0.4),  # suggestion below threshold
            row("v2", "DP1", score=0.8),
            row("v2", "DP1", source="human", score=None, status="rejected", text=None),  # human veto
            row("v2", "B1", score=0.3, text="machine evidence"),
            row("v2", "B1", source="human", score=None, status="accepted", text=None),  # human accept
            row("v3", "B2", source="human", score=None, status="accepted", text=None),  # human only
            row("v4", "C1", score=0.5),  # exactly at threshold
            row("v5", "DP1", source="human", score=None, status="rejected", text=None),
            row("v5", "DP1", source="human", score=None, status="accepted", text=None),  # later wins
            row("v6", "DP2", source="human", score=None, status="accepted", text=None),
            row("v6", "DP2", score=0.2),  # machine after human: human still wins
        ]
    )


def test_effective_codes_rules(assignments: pd.DataFrame) -> None:
    present = effective_codes(assignments)
    assert list(present.columns) == ASSIGNMENT_COLUMNS
    assert _pairs(present) == {
        ("v1", "DP1"),
        ("v2", "B1"),
        ("v3", "B2"),
        ("v4", "C1"),
        ("v5", "DP1"),
        ("v6", "DP2"),
    }


def test_human_accept_keeps_machine_score_and_evidence(assignments: pd.DataFrame) -> None:
    present = effective_codes(assignments).set_index(["venture_id", "code_id"])
    rec = present.loc[("v2", "B1")]
    assert rec["status"] == "accepted" and rec["source"] == "human"
    assert rec["score"] == pytest.approx(0.3)
    assert rec["evidence"][0]["text"] == "machine evidence"
    assert pd.isna(present.loc[("v3", "B2")]["score"])


def test_thresholds_and_suggestion_switch(assignments: pd.DataFrame) -> None:
    assert ("v1", "DP2") in _pairs(effective_codes(assignments, min_score=0.4))
    assert ("v4", "C1") not in _pairs(effective_codes(assignments, min_score=0.51))
    accepted_only = effective_codes(assignments, include_suggestions=False)
    assert _pairs(accepted_only) == {("v2", "B1"), ("v3", "B2"), ("v5", "DP1"), ("v6", "DP2")}


def test_resolve_keeps_one_row_per_pair(assignments: pd.DataFrame) -> None:
    resolved = resolve_assignments(assignments)
    assert len(resolved) == len(_pairs(assignments))
    statuses = dict(
        zip(zip(resolved["venture_id"], resolved["code_id"], strict=True), resolved["status"], strict=True)
    )
    assert statuses[("v2", "DP1")] == "rejected"
    assert statuses[("v6", "DP2")] == "accepted"


def test_empty_and_invalid_inputs(mk) -> None:
    empty = effective_codes(mk.assignments([]))
    assert empty.empty and list(empty.columns) == ASSIGNMENT_COLUMNS
    with pytest.raises(InvalidInput, match="min_score"):
        effective_codes(mk.assignments([]), min_score=1.5)
    with pytest.raises(InvalidInput, match="status"):
        effective_codes(mk.assignments([mk.row("v1", "DP1", status="maybe")]))
    with pytest.raises(InvalidInput, match="columns"):
        effective_codes(pd.DataFrame({"venture_id": ["v1"]}))


def test_evidence_list_normalises_storage_forms() -> None:
    assert evidence_list(None) == []
    assert evidence_list(float("nan")) == []
    assert evidence_list('[{"text": "x"}]') == [{"text": "x"}]
    assert evidence_list(({"text": "y"},)) == [{"text": "y"}]


def test_code_matrix_shape_and_order(mk, codebook) -> None:
    ventures = mk.ventures(["v3", "v1", "v2"])
    present = mk.assignments(
        [
            mk.row("v1", "B1"),
            mk.row("v1", "DP1"),
            mk.row("v2", "C1"),
            mk.row("zz", "DP1"),
            mk.row("v3", "X9"),
            mk.row("v3", "NOPE"),
        ]
    )
    matrix = code_matrix(ventures, present, codebook)
    assert list(matrix.index) == ["v3", "v1", "v2"]
    assert list(matrix.columns) == ["DP1", "DP2", "B1", "B2", "C1"]  # retired X9 left out
    assert all(str(t).startswith("int") for t in matrix.dtypes)
    assert matrix.loc["v1"].tolist() == [1, 0, 1, 0, 0]
    assert matrix.loc["v2"].tolist() == [0, 0, 0, 0, 1]
    assert matrix.loc["v3"].sum() == 0


def test_code_matrix_rejects_duplicate_ventures(mk, codebook) -> None:
    with pytest.raises(InvalidInput, match="unique"):
        code_matrix(mk.ventures(["v1", "v1"]), mk.assignments([]), codebook)
