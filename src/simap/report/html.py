"""The self-contained offline HTML report of a landscape map.

One file: inline CSS, inline SVG charts generated in Python (:mod:`simap.report.svg`), a few
lines of vanilla JS to filter the matrix table, no external resources. All user text is escaped
(Jinja2 autoescape; SVG text through :func:`markupsafe.escape`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader

from simap.codebook.schema import Code, Codebook
from simap.errors import InvalidInput
from simap.maps.analytics import LandscapeMap
from simap.maps.select import evidence_list
from simap.report.context import full_context
from simap.report.sections import ReportData, build_report_data
from simap.report.svg import cooccurrence_heatmap, prevalence_chart

TEMPLATE = "report.html.j2"
MAX_ROWS = 500
TOOLTIP_CHARS = 300


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("simap.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, digits=1: "–" if _nan(v) else f"{float(v):.{digits}%}"
    env.filters["readable"] = readable
    env.globals["score_names"] = SCORE_NAMES
    env.filters["num"] = lambda v, digits=2: "–" if _nan(v) else f"{float(v):.{digits}f}"
    return env


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def kind_label(kind: str) -> str:
    return kind.replace("_", " ")


def _groups(codebook: Codebook) -> list[tuple[str, list[Code]]]:
    groups: dict[str, list[Code]] = {}
    for code in codebook.active_codes:
        groups.setdefault(code.kind, []).append(code)
    return list(groups.items())


def _cell(code_id: str, rec: Mapping[str, Any] | None) -> dict[str, str] | None:
    if rec is None:
        return None
    score = rec["score"]
    accepted = rec["status"] == "accepted"
    strength = 1.0 if _nan(score) else float(score)
    alpha = 0.25 + 0.75 * min(max(strength, 0.0), 1.0)
    evidence = evidence_list(rec["evidence"])
    text = str(evidence[0].get("text") or "").strip() if evidence else ""
    if len(text) > TOOLTIP_CHARS:
        text = text[: TOOLTIP_CHARS - 1] + "…"
    score_s = "no score" if _nan(score) else f"score {float(score):.2f}"
    title = f"{code_id} · {score_s} · {rec['status']} ({rec['source']})"
    if text:
        title += f" — “{text}”"
    return {
        "cls": "a" if accepted else "s",
        "style": f"--a:{alpha:.2f}",
        "title": title,
        "mark": "●" if accepted else "○",
    }


def _matrix_rows(landscape: LandscapeMap, order: list[str], max_rows: int) -> list[dict[str, Any]]:
    shown = landscape.ventures.head(max_rows)
    ids = set(shown["id"])
    present = landscape.present[landscape.present["venture_id"].isin(ids)]
    lookup = {(r["venture_id"], r["code_id"]): r for r in present.to_dict("records")}
    counts = landscape.matrix.sum(axis=1)
    rows = []
    for v in shown.to_dict("records"):
        vid = v["id"]
        rows.append(
            {
                "id": vid,
                "name": v["name"],
                "where": " · ".join(str(x) for x in (v.get("country"), v.get("sector")) if not _nan(x) and x),
                "n": int(counts.get(vid, 0)),
                "cells": [_cell(cid, lookup.get((vid, cid))) for cid in order],
            }
        )
    return rows


SCORE_NAMES = {
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "kappa": "Cohen's κ",
    "alpha": "Krippendorff's α",
    "macro_f1": "macro-F1",
    "agreement": "raw agreement",
}
META_LABELS = {
    "model": "Model",
    "params": "Model parameters",
    "run_id": "Coding run",
    "coded_at": "Coded at (UTC)",
    "database": "Project database",
    "text_similarity": "Text similarity",
}
"""Methodology labels of the report metadata; keys shown elsewhere in the section are left out."""
_META_SHOWN_ELSEWHERE = {"codebook", "codebook_version", "min_score", "include_suggestions"}


def readable(value: Any) -> str:
    """A metadata value as plain words: ``{"C": 0.3, "embedder_params": {"dim": 64}}`` becomes
    ``C 0.3 · embedder params: dim 64``; lists are comma-joined; no JSON braces or quotes."""
    if isinstance(value, Mapping):
        parts = []
        for k, v in sorted(value.items(), key=lambda kv: str(kv[0])):
            key = str(k).replace("_", " ")
            text = readable(v)
            parts.append(f"{key}: {text}" if isinstance(v, Mapping) else f"{key} {text}")
        return " · ".join(parts) if parts else "none"
    if isinstance(value, list | tuple | set):
        return ", ".join(readable(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "none"
    return str(value)


def _meta_items(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    items = []
    for key, value in meta.items():
        if key in _META_SHOWN_ELSEWHERE:
            continue
        name = str(key)
        # snake_case keys read as words; a label already written for people ("LLM data policy") stays
        label = META_LABELS.get(name) or (name.replace("_", " ").capitalize() if name.islower() else name)
        text = readable(value)
        if key == "coded_at":
            text = text.replace("T", " ")
        items.append((label, text))
    return items


def render_html_report(
    landscape: LandscapeMap,
    codebook: Codebook,
    *,
    title: str = "Social Innovation Map",
    meta: Mapping[str, Any] | None = None,
    max_rows: int = MAX_ROWS,
    data: ReportData | None = None,
    static: bool = False,
) -> str:
    """The report as one HTML string (see :func:`write_html_report`).

    ``data`` (from :func:`simap.report.sections.collect_report_data`) adds text similarity to the
    network, emerging themes and review figures; without it they are computed from the map alone.
    ``static=True`` renders the print variant used for the PDF (no scripts, small-multiple maps).
    """
    if list(landscape.matrix.columns) != codebook.ids():
        raise InvalidInput(
            f"the map was built with codes {list(landscape.matrix.columns)}, but codebook "
            f"{codebook.name!r} has active codes {codebook.ids()}.",
            hint="pass the codebook the map was built with",
        )
    if max_rows < 1:
        raise InvalidInput(f"max_rows must be at least 1; got {max_rows!r}.", field="max_rows")
    meta = dict(meta or {})
    if data is None:
        data = build_report_data(landscape, codebook, meta=meta)
    groups = _groups(codebook)
    order = [c.id for _, codes in groups for c in codes]
    names = {c.id: c.name for c in codebook.active_codes}
    prev = landscape.prevalence
    charts = [
        {
            "kind": kind_label(kind),
            "svg": prevalence_chart(
                prev[prev["kind"] == kind],
                label=f"Bar chart: share of ventures with each {kind_label(kind)} code",
            ),
        }
        for kind, _ in groups
    ]
    heatmap = None
    cooc = landscape.cooccurrence
    if not cooc.empty:
        heatmap = cooccurrence_heatmap(
            cooc,
            names,
            label=f"Heatmap: co-occurrence of {kind_label(landscape.rows_kind)} and "
            f"{kind_label(landscape.cols_kind)} codes (count of ventures, lift)",
            rows=list(dict.fromkeys(cooc["row"])),
            cols=list(dict.fromkeys(cooc["col"])),
        )
    quotes = [
        {"code": code, "kind": kind_label(code.kind), "quotes": landscape.quotes_for(code.id)}
        for code in codebook.active_codes
    ]
    prev_rows = prev.to_dict("records")
    context = {
        "title": title,
        "n_ventures": landscape.n_ventures,
        "n_codes": len(codebook.ids()),
        "n_coded": landscape.n_coded,
        "share_coded": landscape.share_coded,
        "codebook": codebook,
        "codebook_version": codebook.version,
        "model": meta.get("model", "not recorded"),
        "date": meta.get("date") or dt.date.today().isoformat(),
        "meta_items": _meta_items(meta),
        "meta_text_similarity": meta.get("text_similarity", "not used: patterns only"),
        "groups": [(kind_label(k), codes) for k, codes in groups],
        "rows": _matrix_rows(landscape, order, max_rows),
        "max_rows": max_rows,
        "truncated": landscape.n_ventures > max_rows,
        "charts": charts,
        "prevalence": prev_rows,
        "heatmap": heatmap,
        "rows_kind": kind_label(landscape.rows_kind),
        "cols_kind": kind_label(landscape.cols_kind),
        "quotes": quotes,
        "min_score": landscape.min_score,
        "include_suggestions": landscape.include_suggestions,
        "n_present": len(landscape.present),
        "n_accepted": int((landscape.present["status"] == "accepted").sum()) if len(landscape.present) else 0,
        **full_context(data, static=static),
    }
    return _environment().get_template(TEMPLATE).render(**context)


def write_html_report(
    landscape: LandscapeMap,
    codebook: Codebook,
    path: str | Path,
    *,
    title: str = "Social Innovation Map",
    meta: Mapping[str, Any] | None = None,
    max_rows: int = MAX_ROWS,
    data: ReportData | None = None,
) -> Path:
    """Write the offline HTML report of ``landscape`` to ``path`` and return the path.

    ``meta`` (shown in the header and methodology note) may hold e.g. ``model``, ``params``,
    ``date``, ``source``. The matrix section shows the first ``max_rows`` ventures (with a note);
    charts and statistics always cover every venture.
    """
    html = render_html_report(landscape, codebook, title=title, meta=meta, max_rows=max_rows, data=data)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target


__all__ = ["render_html_report", "write_html_report"]
