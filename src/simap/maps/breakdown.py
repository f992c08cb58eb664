"""Views of a landscape map by group: kind, country, world region, sector, year; trends; countries.

Every function takes a :class:`~simap.maps.analytics.LandscapeMap` (so every view follows the
same filter: accepted codes only, or suggestions from a minimum score) and returns a tidy frame.
Shares carry 95% Wilson intervals. A venture that names several countries counts once in each
of them (and once in each region it is active in); ventures with no value for the grouping are
in the group ``"(not given)"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import linregress

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, expected
from simap.maps.analytics import LandscapeMap, bh_adjust, wilson_interval
from simap.maps.geo import NOT_GIVEN, UNKNOWN

GROUPINGS = ("country", "region", "subregion", "sector", "year")
BY_COLUMNS = ["group", "code_id", "kind", "name", "n_group", "n", "share", "ci_low", "ci_high"]
KIND_COLUMNS = ["kind", "n_codes", "n", "share", "ci_low", "ci_high"]
TREND_COLUMNS = [
    "code_id",
    "kind",
    "name",
    "years",
    "first_year",
    "last_year",
    "slope_per_year",
    "p_value",
    "q_value",
]


def _membership(landscape: LandscapeMap, by: str) -> pd.DataFrame:
    """(venture_id, group) pairs for a grouping."""
    if by not in GROUPINGS:
        raise InvalidInput(expected("by", f"one of {list(GROUPINGS)}", by), field="by")
    if by in ("country", "region", "subregion"):
        geo = landscape.countries
        if geo.empty:
            return pd.DataFrame({"venture_id": landscape.ventures["id"], "group": NOT_GIVEN})
        pairs = geo[["venture_id", by]].rename(columns={by: "group"}).drop_duplicates()
        return pairs.reset_index(drop=True)
    values = landscape.ventures.get(by)
    if values is None:
        groups: Any = NOT_GIVEN
    elif by == "year":
        years = pd.to_numeric(values, errors="coerce")
        groups = [NOT_GIVEN if pd.isna(y) else str(int(y)) for y in years]
    else:
        groups = [
            NOT_GIVEN if v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip() else str(v)
            for v in values
        ]
    return pd.DataFrame({"venture_id": landscape.ventures["id"].astype(str), "group": groups})


def prevalence_by(
    landscape: LandscapeMap, codebook: Codebook, by: str, *, min_group: int = 1
) -> pd.DataFrame:
    """Share of the ventures of each group with each active code (BY_COLUMNS), groups with at least
    ``min_group`` ventures, largest groups first (``"(not given)"`` and ``"(unknown)"`` last)."""
    pairs = _membership(landscape, by)
    matrix = landscape.matrix
    rows: list[dict[str, Any]] = []
    sizes = pairs.groupby("group")["venture_id"].nunique()
    order = sorted(
        sizes.index,
        key=lambda g: (g in (NOT_GIVEN, UNKNOWN), -int(sizes[g]) if by != "year" else 0, str(g)),
    )
    for group in order:
        n_group = int(sizes[group])
        if n_group < min_group:
            continue
        ids = pairs.loc[pairs["group"] == group, "venture_id"].unique()
        sub = matrix.loc[matrix.index.intersection(ids)]
        counts = sub.sum(axis=0)
        for code in codebook.active_codes:
            n = int(counts.get(code.id, 0))
            low, high = wilson_interval(n, n_group)
            rows.append(
                {
                    "group": group,
                    "code_id": code.id,
                    "kind": code.kind,
                    "name": code.name,
                    "n_group": n_group,
                    "n": n,
                    "share": n / n_group if n_group else 0.0,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame(rows, columns=BY_COLUMNS)


def kind_prevalence(landscape: LandscapeMap, codebook: Codebook) -> pd.DataFrame:
    """Per kind of code: ventures with at least one code of that kind, share and interval."""
    total = landscape.n_ventures
    rows = []
    for kind in dict.fromkeys(c.kind for c in codebook.active_codes):
        ids = codebook.ids(kind)
        n = int((landscape.matrix[ids].sum(axis=1) > 0).sum()) if total else 0
        low, high = wilson_interval(n, total)
        rows.append(
            {
                "kind": kind,
                "n_codes": len(ids),
                "n": n,
                "share": n / total if total else 0.0,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows, columns=KIND_COLUMNS)


def trends(landscape: LandscapeMap, codebook: Codebook, *, min_year_ventures: int = 1) -> pd.DataFrame:
    """Per code, the linear trend of presence over the ventures' years (least squares of 0/1
    presence on year: ``slope_per_year`` is the change in share per year), its p-value and the
    Benjamini-Hochberg q-value across codes. Codes get NaN when fewer than 2 distinct years."""
    years = (
        pd.to_numeric(landscape.ventures.get("year"), errors="coerce")
        if "year" in landscape.ventures
        else None
    )
    rows = []
    if years is None:
        years = pd.Series(np.nan, index=range(landscape.n_ventures))
    year_arr = years.to_numpy(dtype=float)
    known = ~np.isnan(year_arr)
    counts = pd.Series(year_arr[known]).value_counts()
    keep_years = set(counts[counts >= min_year_ventures].index)
    mask = known & np.isin(year_arr, list(keep_years))
    y_years = year_arr[mask]
    for code in codebook.active_codes:
        presence = landscape.matrix[code.id].to_numpy(dtype=float)[mask]
        slope = p = float("nan")
        if len(set(y_years.tolist())) >= 2 and presence.std() > 0:
            fit = linregress(y_years, presence)
            slope, p = float(fit.slope), float(fit.pvalue)
        elif len(set(y_years.tolist())) >= 2:
            slope, p = 0.0, 1.0
        rows.append(
            {
                "code_id": code.id,
                "kind": code.kind,
                "name": code.name,
                "years": len(set(y_years.tolist())),
                "first_year": int(y_years.min()) if len(y_years) else None,
                "last_year": int(y_years.max()) if len(y_years) else None,
                "slope_per_year": slope,
                "p_value": p,
            }
        )
    frame = pd.DataFrame(rows, columns=TREND_COLUMNS[:-1])
    frame["q_value"] = bh_adjust(frame["p_value"].to_numpy(dtype=float)) if len(frame) else []
    return frame


def country_counts(landscape: LandscapeMap, codebook: Codebook) -> pd.DataFrame:
    """One row per known country: alpha2, alpha3, country, region, subregion, ventures and the
    number of its ventures with each active code (one column per code id); most ventures first."""
    geo = landscape.countries
    geo = geo[geo["alpha3"].notna()]
    base_cols = ["alpha2", "alpha3", "country", "region", "subregion"]
    if geo.empty:
        return pd.DataFrame(columns=[*base_cols, "ventures", *codebook.ids()])
    pairs = geo[["venture_id", *base_cols]].drop_duplicates(["venture_id", "alpha3"])
    matrix = landscape.matrix.reindex(pairs["venture_id"].to_numpy()).fillna(0).astype(int)
    data = pairs.reset_index(drop=True).join(matrix.reset_index(drop=True))
    out = data.groupby(base_cols, dropna=False).agg(
        ventures=("venture_id", "nunique"), **{cid: (cid, "sum") for cid in codebook.ids()}
    )
    out = out.reset_index().sort_values(["ventures", "country"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def matrix_table(landscape: LandscapeMap) -> pd.DataFrame:
    """The code x venture matrix with venture names: id, name, country, sector, year, then 0/1 per code."""
    info = landscape.ventures.set_index("id")
    cols = [c for c in ("name", "country", "sector", "year") if c in info.columns]
    out = info[cols].join(landscape.matrix, how="right")
    out.index.name = "venture_id"
    return out.reset_index()


__all__ = [
    "BY_COLUMNS",
    "GROUPINGS",
    "KIND_COLUMNS",
    "TREND_COLUMNS",
    "country_counts",
    "kind_prevalence",
    "matrix_table",
    "prevalence_by",
    "trends",
]
