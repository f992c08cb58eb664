"""Report generation time for 10,000 ventures (target <= 30 s HTML, <= 60 s PDF; 2 cores).

The 727 real DPG ventures (../shared/data) are imported and coded once (static backend); their
ventures, texts and assignments are then repeated with new ids up to N ventures. Timed: the
analytics (map, breakdowns, venture network with TF-IDF text similarity, communities), the HTML
report and the PDF report (WeasyPrint), each from the frames, in one process.

    python bench/report_speed.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

import _common


def frames(n: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, object]:
    from simap.pipeline import Project
    from simap.store import repo

    with tempfile.TemporaryDirectory() as tmp, Project.open(Path(tmp) / "r.db") as proj:
        proj.import_path(_common.shared("dpg_ventures.jsonl"))
        proj.code()
        book = proj.current_codebook()
        ventures = repo.load_ventures(proj.store)
        docs = repo.load_documents(proj.store)
        assignments = proj.assignments(book)
    reps = n // len(ventures) + 1
    v_parts, d_parts, a_parts = [], [], []
    for r in range(reps):
        suffix = f"~{r}" if r else ""
        v_parts.append(ventures.assign(id=ventures["id"] + suffix))
        d_parts.append(docs.assign(venture_id=docs["venture_id"] + suffix))
        a_parts.append(assignments.assign(venture_id=assignments["venture_id"] + suffix))
    v = pd.concat(v_parts, ignore_index=True).head(n)
    keep = set(v["id"])
    d = pd.concat(d_parts, ignore_index=True)
    a = pd.concat(a_parts, ignore_index=True)
    return v, d[d["venture_id"].isin(keep)], a[a["venture_id"].isin(keep)], book


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    ns = parser.parse_args()
    from simap.embed import get_embedder
    from simap.maps.analytics import build_map
    from simap.report.html import write_html_report
    from simap.report.pdf import write_pdf_report
    from simap.report.sections import build_report_data, venture_texts

    ventures, docs, assignments, book = frames(ns.n)
    t0 = time.perf_counter()
    landscape = build_map(ventures, assignments, book)  # type: ignore[arg-type]
    texts = venture_texts(docs, landscape.ventures["id"].tolist())
    emb = get_embedder("tfidf").fit(texts)
    data = build_report_data(landscape, book, text_vectors=emb.embed(texts))  # type: ignore[arg-type]
    t_data = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        html = write_html_report(landscape, book, Path(tmp) / "m.html", data=data)  # type: ignore[arg-type]
        t_html = time.perf_counter() - t1
        t2 = time.perf_counter()
        pdf = write_pdf_report(landscape, book, Path(tmp) / "m.pdf", data=data)  # type: ignore[arg-type]
        t_pdf = time.perf_counter() - t2
        sizes = {"html_mb": round(html.stat().st_size / 1e6, 2), "pdf_mb": round(pdf.stat().st_size / 1e6, 2)}
    payload = {
        "ventures": len(ventures),
        "analytics_seconds": round(t_data, 2),
        "html_seconds": round(t_html, 2),
        "pdf_seconds": round(t_pdf, 2),
        "html_total_seconds": round(t_data + t_html, 2),
        "pdf_total_seconds": round(t_data + t_pdf, 2),
        "network_edges": data.venture_graph.number_of_edges(),
        "communities": len(data.communities),
        "peak_rss_mb": _common.peak_rss_mb(),
        **sizes,
    }
    path = _common.write_result("report_speed", payload)
    print(json.dumps(payload, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
