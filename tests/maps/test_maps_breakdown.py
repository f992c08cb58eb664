from __future__ import annotations

import math

import pandas as pd
import pytest

from simap.errors import InvalidInput
from simap.maps.analytics import build_map, cooccurrence
from simap.maps.breakdown import country_counts, kind_prevalence, matrix_table, prevalence_by, trends


def _landscape(mk, codebook):
    ventures = mk.ventures(["v1", "v2", "v3", "v4"])
    ventures["country"] = ["Kenya", "Kenya", "France", None]
    ventures["sector"] = ["health", "health", "education", None]
    ventures["year"] = [2018, 2019, 2020, 2020]
    rows = [
        mk.row("v1", "DP1"),
        mk.row("v2", "DP1"),
        mk.row("v2", "B1", kind="barrier"),
        mk.row("v3", "B1", kind="barrier"),
        mk.row("v4", "DP2", score=0.2),
    ]
    return build_map(ventures, mk.assignments(rows), codebook)


def test_q_values_are_benjamini_hochberg(codebook, mk) -> None:
    lm = _landscape(mk, codebook)
    cooc = cooccurrence(lm.matrix, codebook)
    from scipy.stats import false_discovery_control

    assert cooc["q_value"].tolist() == pytest.approx(
        list(false_discovery_control(cooc["p_value"], method="bh"))
    )


def test_prevalence_by_country_region_sector_year(codebook, mk) -> None:
    lm = _landscape(mk, codebook)
    by = prevalence_by(lm, codebook, "country").set_index(["group", "code_id"])
    assert by.loc[("Kenya", "DP1"), "n"] == 2 and by.loc[("Kenya", "DP1"), "n_group"] == 2
    assert by.loc[("France", "B1"), "share"] == 1.0
    assert "(not given)" in set(by.index.get_level_values(0))
    region = prevalence_by(lm, codebook, "region").set_index(["group", "code_id"])
    assert region.loc[("Africa", "B1"), "n"] == 1 and region.loc[("Europe", "B1"), "n"] == 1
    sector = prevalence_by(lm, codebook, "sector").set_index(["group", "code_id"])
    assert sector.loc[("health", "DP1"), "share"] == 1.0
    year = prevalence_by(lm, codebook, "year")
    assert list(dict.fromkeys(year["group"])) == ["2018", "2019", "2020"]
    with pytest.raises(InvalidInput, match="by"):
        prevalence_by(lm, codebook, "planet")


def test_kind_trends_countries_matrix(codebook, mk) -> None:
    lm = _landscape(mk, codebook)
    kinds = kind_prevalence(lm, codebook).set_index("kind")
    assert kinds.loc["design_principle", "n"] == 2 and kinds.loc["barrier", "n"] == 2
    tr = trends(lm, codebook).set_index("code_id")
    assert tr.loc["DP1", "slope_per_year"] < 0 and tr.loc["DP1", "years"] == 3
    assert not math.isnan(tr.loc["DP1", "q_value"])
    cc = country_counts(lm, codebook).set_index("alpha3")
    assert cc.loc["KEN", "ventures"] == 2 and cc.loc["KEN", "DP1"] == 2 and cc.loc["FRA", "B1"] == 1
    mt = matrix_table(lm)
    assert list(mt.columns[:5]) == ["venture_id", "name", "country", "sector", "year"]
    assert mt.set_index("venture_id").loc["v2", "B1"] == 1


def test_accepted_only_filter(codebook, mk) -> None:
    ventures = mk.ventures(["v1", "v2"])
    rows = [
        mk.row("v1", "DP1"),
        mk.row("v2", "DP1", source="human", status="accepted", score=None, text=None),
    ]
    lm = build_map(ventures, mk.assignments(rows), codebook, include_suggestions=False)
    assert lm.matrix["DP1"].tolist() == [0, 1]
    assert isinstance(lm.countries, pd.DataFrame)
