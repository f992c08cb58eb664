from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy.stats import fisher_exact

from simap.errors import InvalidInput
from simap.maps.analytics import (
    LandscapeMap,
    build_map,
    cooccurrence,
    cooccurrence_table,
    prevalence,
    wilson_interval,
)


def hand_matrix() -> pd.DataFrame:
    """10 ventures: DP1 in v0-v4 (5), B1 in v0-v2 and v5 (4), both in 3; DP2 never; B2 in all."""
    ids = [f"v{i}" for i in range(10)]
    data = {
        "DP1": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        "DP2": [0] * 10,
        "B1": [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
        "B2": [1] * 10,
        "C1": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    }
    return pd.DataFrame(data, index=pd.Index(ids, name="venture_id"))


def test_wilson_known_values() -> None:
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4)
    assert high == pytest.approx(0.7634, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_prevalence(codebook) -> None:
    prev = prevalence(hand_matrix(), codebook)
    assert list(prev.columns) == ["code_id", "kind", "name", "n", "share", "ci_low", "ci_high"]
    assert prev["code_id"].tolist() == ["DP1", "DP2", "B1", "B2", "C1"]
    dp1 = prev.set_index("code_id").loc["DP1"]
    assert dp1["n"] == 5 and dp1["share"] == pytest.approx(0.5)
    assert dp1["ci_low"] == pytest.approx(0.2366, abs=1e-4)
    assert dp1["kind"] == "design_principle" and dp1["name"] == "name of DP1"


def test_prevalence_requires_codebook_columns(codebook) -> None:
    with pytest.raises(InvalidInput, match="DP2"):
        prevalence(hand_matrix().drop(columns="DP2"), codebook)


def test_cooccurrence_counts_lift_and_fisher(codebook) -> None:
    cooc = cooccurrence(hand_matrix(), codebook)
    assert list(cooc.columns) == ["row", "col", "n_both", "n_row", "n_col", "lift", "p_value", "q_value"]
    assert list(zip(cooc["row"], cooc["col"], strict=True)) == [
        ("DP1", "B1"),
        ("DP1", "B2"),
        ("DP2", "B1"),
        ("DP2", "B2"),
    ]
    rec = cooc.set_index(["row", "col"]).loc[("DP1", "B1")]
    assert (rec["n_both"], rec["n_row"], rec["n_col"]) == (3, 5, 4)
    assert rec["lift"] == pytest.approx((3 / 10) / ((5 / 10) * (4 / 10)))  # 1.5
    expected = fisher_exact([[3, 2], [1, 4]], alternative="greater")[1]
    assert rec["p_value"] == pytest.approx(expected)
    b2 = cooc.set_index(["row", "col"]).loc[("DP1", "B2")]
    assert b2["lift"] == pytest.approx(1.0) and b2["p_value"] == pytest.approx(1.0)
    assert math.isnan(cooc.set_index(["row", "col"]).loc[("DP2", "B1")]["lift"])


def test_cooccurrence_table_and_kinds(codebook) -> None:
    table = cooccurrence_table(hand_matrix(), codebook)
    assert table.loc["DP1", "B1"] == 3 and table.loc["DP1", "B2"] == 5 and table.loc["DP2", "B2"] == 0
    other = cooccurrence(hand_matrix(), codebook, rows_kind="barrier", cols_kind="challenge")
    assert other.set_index(["row", "col"]).loc[("B1", "C1")]["n_both"] == 1
    with pytest.raises(InvalidInput, match="kind"):
        cooccurrence(hand_matrix(), codebook, rows_kind="nope")


def test_build_map(mk, codebook) -> None:
    ventures = mk.ventures(["v1", "v2", "v3", "v4"])
    assignments = mk.assignments(
        [
            mk.row("v1", "DP1", score=0.95, text="best sentence"),
            mk.row("v2", "DP1", score=0.70, text="second sentence"),
            mk.row("v3", "DP1", score=0.60, text=None),  # present, but no quote
            mk.row("v4", "DP1", score=0.55, text="third sentence"),
            mk.row("v4", "B1", score=0.9),
            mk.row("v1", "B1", score=0.2),  # below threshold
            mk.row("ghost", "B1", score=0.9),  # unknown venture: ignored
            mk.row("v1", "X9", score=0.9),  # retired code: ignored
        ]
    )
    landscape = build_map(ventures, assignments, codebook, min_score=0.5, include_suggestions=True)
    assert isinstance(landscape, LandscapeMap)
    assert landscape.matrix.shape == (4, 5)
    assert landscape.n_ventures == 4 and landscape.n_coded == 4 and landscape.share_coded == 1.0
    assert set(landscape.present["venture_id"]) == {"v1", "v2", "v3", "v4"}
    quotes = landscape.quotes_for("DP1")
    assert [q["text"] for q in quotes] == ["best sentence", "second sentence", "third sentence"]
    assert quotes[0]["venture_name"] == "Venture v1" and quotes[0]["score"] == pytest.approx(0.95)
    assert quotes[0]["status"] == "suggested"
    assert landscape.quotes_for("DP2") == []
    rec = landscape.cooccurrence.set_index(["row", "col"]).loc[("DP1", "B1")]
    assert rec["n_both"] == 1
    assert landscape.codebook_version == codebook.version


def test_build_map_without_cooccurrence_kinds(mk) -> None:
    from simap.codebook.schema import Codebook

    book = Codebook.model_validate(
        {"name": "x", "codes": [{"id": "T1", "kind": "topic", "name": "t", "definition": "d"}]}
    )
    landscape = build_map(mk.ventures(["v1"]), mk.assignments([mk.row("v1", "T1")]), book)
    assert landscape.cooccurrence.empty
    assert landscape.matrix.loc["v1", "T1"] == 1
