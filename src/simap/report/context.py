"""Template context of the full report's sections, from :class:`~simap.report.sections.ReportData`.

``static=True`` is the print/PDF variant: small-multiple maps instead of the map switcher, no
scripts needed.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from simap.maps.geo import NOT_GIVEN, UNKNOWN, country_coverage
from simap.report.choropleth import choropleth, interactive_choropleth, make_series
from simap.report.graphs import network_svg, trend_chart
from simap.report.sections import MIN_GROUP, ReportData, key_findings, strength

MAX_GROUP_ROWS = 12


def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def heat_rows(
    frame: pd.DataFrame, code_ids: list[str], *, min_group: int = MIN_GROUP
) -> list[dict[str, Any]]:
    """Rows of a group x code table of shares with a background intensity per cell."""
    if frame.empty:
        return []
    sub = frame[(frame["n_group"] >= min_group) & ~frame["group"].isin([NOT_GIVEN, UNKNOWN])]
    rows = []
    for group, g in sub.groupby("group", sort=False):
        cells = g.set_index("code_id")
        row_cells: list[dict[str, Any] | None] = []
        for cid in code_ids:
            if cid not in cells.index:
                row_cells.append(None)
                continue
            r = cells.loc[cid]
            row_cells.append(
                {
                    "text": f"{r['share']:.0%}" if r["n"] else "·",
                    "alpha": f"{min(1.0, float(r['share']) / 0.6):.2f}",
                    "dark": float(r["share"]) >= 0.35,
                    "title": f"{group} · {cid}: {int(r['n'])} of {int(r['n_group'])} ventures "
                    f"({r['share']:.1%}, 95% CI {r['ci_low']:.0%}–{r['ci_high']:.0%})",
                }
            )
        rows.append({"group": group, "n": int(g["n_group"].iloc[0]), "cells": row_cells})
        if len(rows) >= MAX_GROUP_ROWS:
            break
    return rows


def _geo(data: ReportData, static: bool) -> dict[str, Any]:
    counts = data.countries
    if counts.empty:
        return {"has_map": False, "coverage": country_coverage(data.landscape.countries)}
    names = dict(zip(counts["alpha3"], counts["country"], strict=True))
    total = dict(zip(counts["alpha3"], counts["ventures"], strict=True))
    series = [
        make_series(
            "ventures",
            "All ventures",
            total,
            {iso: f"{names[iso]}: {int(n)} ventures" for iso, n in total.items()},
        )
    ]
    for code in data.codebook.active_codes:
        vals = dict(zip(counts["alpha3"], counts[code.id], strict=True))
        if not any(vals.values()):
            continue
        titles = {
            iso: f"{names[iso]}: {int(v)} of {int(total[iso])} ventures show {code.id} ({v / total[iso]:.0%})"
            for iso, v in vals.items()
            if v
        }
        series.append(make_series(code.id, f"{code.id} {code.name}", vals, titles))
    label = "World map: number of ventures per country"
    desc = "; ".join(f"{r.country} {int(r.ventures)}" for r in counts.head(40).itertuples())
    out: dict[str, Any] = {"has_map": True, "series": [(s.key, s.label) for s in series]}
    if static:
        out["static_map"] = choropleth(series[0], label=label, desc=desc)
        out["multiples"] = [
            {
                "label": s.label,
                "svg": choropleth(
                    s,
                    label=f"World map: ventures showing {s.label} per country",
                    desc="; ".join(
                        f"{names[i]} {int(v)}"
                        for i, v in sorted(s.values.items(), key=lambda kv: -kv[1])[:30]
                        if v
                    ),
                    width=480,
                ),
            }
            for s in series[1:]
        ]
    else:
        svg, table = interactive_choropleth(series, label=label, desc=desc)
        out["map_svg"], out["map_json"] = svg, table
    out["top_countries"] = counts.head(15).to_dict("records")
    out["n_countries"] = len(counts)
    out["coverage"] = country_coverage(data.landscape.countries)
    return out


def _links(data: ReportData) -> list[dict[str, Any]]:
    cooc = data.landscape.cooccurrence
    if cooc.empty:
        return []
    names = {c.id: c.name for c in data.codebook.active_codes}
    rows = []
    for r in cooc.sort_values(["q_value", "lift"], ascending=[True, False], kind="stable").itertuples():
        if r.n_both == 0:
            continue
        rows.append(
            {
                "row": r.row,
                "col": r.col,
                "row_name": names.get(r.row, ""),
                "col_name": names.get(r.col, ""),
                "n_both": int(r.n_both),
                "lift": r.lift,
                "p": r.p_value,
                "q": r.q_value,
                "strength": strength(float(r.lift), float(r.q_value)),
            }
        )
    return rows


def _discovery(data: ReportData) -> dict[str, Any] | None:
    d = data.discovery
    if d is None:
        return None
    cands = {i: c for i, c in enumerate(getattr(d, "candidates", []) or [])}
    return {
        "n_sentences": d.n_sentences,
        "n_unexplained": d.n_unexplained,
        "max_score": d.max_score,
        "themes": [{"t": t, "candidate": cands.get(i)} for i, t in enumerate(d.themes)],
        "params": d.params,
    }


def full_context(data: ReportData, *, static: bool) -> dict[str, Any]:
    lm, book = data.landscape, data.codebook
    code_ids = book.ids()
    names = {c.id: c.name for c in book.active_codes}
    shown = data.shown_network()
    n_net = data.venture_graph.number_of_nodes()
    network = None
    if n_net and data.venture_graph.number_of_edges():
        network = network_svg(
            shown,
            label=f"Network of ventures ({shown.number_of_nodes()} best-connected of {n_net}) "
            "linked by shared patterns and similar descriptions, coloured by community",
            desc=f"{shown.number_of_nodes()} ventures, {shown.number_of_edges()} links, "
            f"{len(data.communities)} communities",
            seed=data.seed,
        )
    pattern_net = None
    if data.pattern_graph.number_of_edges():
        pattern_net = network_svg(
            data.pattern_graph,
            label="Network of patterns: codes linked when ventures show both",
            desc="; ".join(
                f"{a}–{b}: {d['n_both']} ventures" for a, b, d in data.pattern_graph.edges(data=True)
            ),
            width=700,
            height=420,
            seed=data.seed,
            labels=True,
            colour_by="kind",
        )
    trend_svg = trend_chart(
        data.by_year[data.by_year["code_id"].isin(_top_codes(lm, 6))] if len(data.by_year) else data.by_year,
        names,
        label="Line chart: share of ventures with each of the most common codes, by year",
    )
    trends = data.trends.dropna(subset=["slope_per_year"]) if len(data.trends) else data.trends
    return {
        "findings": key_findings(data),
        "kinds": data.kinds.to_dict("records"),
        "links": _links(data),
        "geo": _geo(data, static),
        "region_rows": heat_rows(data.by_region, code_ids),
        "sector_rows": heat_rows(data.by_sector, code_ids),
        "code_ids": code_ids,
        "unknown_countries": data.unknown_countries.to_dict("records"),
        "trend_svg": trend_svg,
        "trend_rows": trends.to_dict("records") if len(trends) else [],
        "network_svg": network,
        "n_network": n_net,
        "n_network_edges": data.venture_graph.number_of_edges(),
        "network_shown": shown.number_of_nodes(),
        "communities": data.communities.head(10).to_dict("records"),
        "pattern_svg": pattern_net,
        "discovery": _discovery(data),
        "review": data.review,
        "agreement": data.agreement,
        "static": static,
    }


def _top_codes(lm: Any, n: int) -> list[str]:
    prev = lm.prevalence.sort_values("n", ascending=False)
    return [str(c) for c in prev["code_id"].head(n)]


__all__ = ["full_context", "heat_rows"]
