"""Exports of every view of a report: tables (CSV, XLSX, JSON), graphs (GraphML, GEXF) and charts
(SVG natively; PNG through CairoSVG when it is installed).

:func:`view_tables` names every table; :func:`export_views` writes all of them into a folder:
``tables/<name>.csv``, ``views.xlsx`` (one sheet per table), ``views.json``,
``graphs/<graph>.graphml|gexf`` and ``charts/<chart>.svg|png``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from simap.cells import safe_frame
from simap.errors import BackendUnavailable, InvalidInput, expected
from simap.maps.breakdown import matrix_table
from simap.maps.network import write_graph
from simap.report.choropleth import choropleth, make_series
from simap.report.graphs import network_svg
from simap.report.sections import ReportData
from simap.report.svg import cooccurrence_heatmap, prevalence_chart

TABLE_FORMATS = ("csv", "xlsx", "json")
CHART_FORMATS = ("svg", "png")
GRAPH_FORMATS = ("graphml", "gexf")


def view_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """Every table of the report, by name."""
    lm = data.landscape
    tables = {
        "prevalence": lm.prevalence,
        "prevalence_by_kind": data.kinds,
        "prevalence_by_country": data.by_country,
        "prevalence_by_region": data.by_region,
        "prevalence_by_sector": data.by_sector,
        "prevalence_by_year": data.by_year,
        "trends": data.trends,
        "cooccurrence": lm.cooccurrence,
        "matrix": matrix_table(lm),
        "countries": data.countries,
        "venture_countries": lm.countries,
        "unknown_countries": data.unknown_countries,
        "communities": data.communities,
        "quotes": lm.quotes,
    }
    if data.discovery is not None:
        tables["emerging_themes"] = pd.DataFrame(
            [
                {
                    "theme": t.index,
                    "candidate_id": (
                        data.discovery.candidates[i].get("id") if i < len(data.discovery.candidates) else ""
                    ),
                    "label": t.label,
                    "terms": "; ".join(t.terms),
                    "sentences": t.size,
                    "ventures": t.n_ventures,
                    "cohesion": t.cohesion,
                    "quotes": " | ".join(str(q["text"]) for q in t.quotes),
                }
                for i, t in enumerate(data.discovery.themes)
            ]
        )
    return tables


def _check(formats: Iterable[str], allowed: tuple[str, ...], what: str) -> list[str]:
    chosen = [f.strip().lower() for f in formats if f.strip()]
    bad = [f for f in chosen if f not in allowed]
    if bad:
        raise InvalidInput(expected(f"the {what} format", f"one of {list(allowed)}", bad[0]), field="format")
    return chosen


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return _json_safe(value.item())
    return value


def write_tables(tables: dict[str, pd.DataFrame], folder: Path, formats: Iterable[str]) -> list[Path]:
    formats = _check(formats, TABLE_FORMATS, "table")
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "csv" in formats:
        (folder / "tables").mkdir(exist_ok=True)
        for name, frame in tables.items():
            path = folder / "tables" / f"{name}.csv"
            safe_frame(frame).to_csv(path, index=False)
            written.append(path)
    if "xlsx" in formats:
        path = folder / "views.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            for name, frame in tables.items():
                safe_frame(frame).to_excel(xl, sheet_name=name[:31], index=False)
        written.append(path)
    if "json" in formats:
        path = folder / "views.json"
        payload = {
            name: [{k: _json_safe(v) for k, v in rec.items()} for rec in frame.to_dict("records")]
            for name, frame in tables.items()
        }
        path.write_text(json.dumps(payload, ensure_ascii=False, default=str, indent=1), encoding="utf-8")
        written.append(path)
    return written


def charts(data: ReportData) -> dict[str, str]:
    """Every chart as standalone SVG markup, by name."""
    lm, book = data.landscape, data.codebook
    out: dict[str, str] = {}
    for kind in dict.fromkeys(c.kind for c in book.active_codes):
        prev = lm.prevalence[lm.prevalence["kind"] == kind]
        out[f"prevalence_{kind}"] = str(
            prevalence_chart(prev, label=f"Share of ventures with each {kind} code")
        )
    cooc = lm.cooccurrence
    if len(cooc):
        out["cooccurrence"] = str(
            cooccurrence_heatmap(
                cooc,
                {c.id: c.name for c in book.active_codes},
                label="Co-occurrence of design principles and barriers",
                rows=list(dict.fromkeys(cooc["row"])),
                cols=list(dict.fromkeys(cooc["col"])),
            )
        )
    if len(data.countries):
        counts = data.countries
        vals = dict(zip(counts["alpha3"], counts["ventures"], strict=True))
        out["map_ventures"] = str(
            choropleth(make_series("ventures", "ventures", vals), label="Ventures per country", desc="")
        )
        for code in book.active_codes:
            cvals = dict(zip(counts["alpha3"], counts[code.id], strict=True))
            if any(cvals.values()):
                out[f"map_{code.id}"] = str(
                    choropleth(
                        make_series(code.id, code.name, cvals), label=f"Ventures showing {code.id}", desc=""
                    )
                )
    shown = data.shown_network()
    if shown.number_of_edges():
        out["network_ventures"] = str(network_svg(shown, label="Venture network", desc="", seed=data.seed))
    if data.pattern_graph.number_of_edges():
        out["network_patterns"] = str(
            network_svg(
                data.pattern_graph,
                label="Pattern network",
                desc="",
                seed=data.seed,
                labels=True,
                colour_by="kind",
            )
        )
    return out


def _standalone(svg: str) -> str:
    svg = svg.replace('width="100%"', "", 1)
    if "xmlns=" not in svg[:200]:
        svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg


def svg_to_png(svg: str, path: Path, *, scale: float = 2.0) -> Path:
    try:
        import cairosvg
    except (ImportError, OSError) as exc:
        raise BackendUnavailable(
            "PNG charts need CairoSVG (and the cairo library), which is not available.",
            hint="pip install cairosvg, or export SVG only (--charts svg)",
        ) from exc
    cairosvg.svg2png(
        bytestring=svg.encode("utf-8"), write_to=str(path), scale=scale, background_color="white"
    )
    return path


def write_charts(data: ReportData, folder: Path, formats: Iterable[str]) -> list[Path]:
    formats = _check(formats, CHART_FORMATS, "chart")
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    written = []
    for name, svg in charts(data).items():
        doc = _standalone(svg)
        if "svg" in formats:
            path = folder / "charts" / f"{name}.svg"
            path.write_text(doc, encoding="utf-8")
            written.append(path)
        if "png" in formats:
            written.append(svg_to_png(doc, folder / "charts" / f"{name}.png"))
    return written


def write_graphs(data: ReportData, folder: Path, formats: Iterable[str]) -> list[Path]:
    formats = _check(formats, GRAPH_FORMATS, "graph")
    (folder / "graphs").mkdir(parents=True, exist_ok=True)
    graphs = {
        "ventures": data.venture_graph,
        "ventures_patterns": data.bipartite_graph,
        "patterns": data.pattern_graph,
    }
    return [
        write_graph(graph, folder / "graphs" / f"{name}.{fmt}", fmt)
        for name, graph in graphs.items()
        for fmt in formats
    ]


def export_views(
    data: ReportData,
    folder: str | Path,
    *,
    tables: Iterable[str] = TABLE_FORMATS,
    charts_as: Iterable[str] = ("svg",),
    graphs: Iterable[str] = GRAPH_FORMATS,
) -> list[Path]:
    """Write every table, chart and graph of ``data`` into ``folder``; return the files written."""
    root = Path(folder)
    written = write_tables(view_tables(data), root, tables)
    written += write_charts(data, root, charts_as)
    written += write_graphs(data, root, graphs)
    return written


__all__ = [
    "CHART_FORMATS",
    "GRAPH_FORMATS",
    "TABLE_FORMATS",
    "charts",
    "export_views",
    "svg_to_png",
    "view_tables",
    "write_charts",
    "write_graphs",
    "write_tables",
]
