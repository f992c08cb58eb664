"""Zero-shot coding quality on the hand-coded dev labels, per embedding backend.

Runs the real pipeline (import -> code -> evaluate) on ../shared/data/dev_seed_labels.jsonl into
a throw-away project for each backend, with nothing trained or tuned on those labels, and
prints pooled F1, Cohen's kappa and Krippendorff's alpha. The naive baseline of
measured-baselines.md (max cosine between a sentence and each code's "code it when" text, best
single threshold chosen on the answers: an optimistic oracle) runs beside it.

    python bench/coding_quality.py [backend ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common
from simap import codebook as cb
from simap.pipeline import Project
from simap.review.agreement import compare, load_gold


def naive_baseline(path: Path, backend: str = "minilm") -> dict[str, float]:
    from simap.embed import get_embedder
    from simap.ingest import read
    from simap.ingest.segment import segment_documents

    book = cb.load("social-innovation")
    seg = segment_documents(read(path).documents)
    emb = get_embedder(backend)
    defs = [" ".join(c.include) or c.definition for c in book.active_codes]
    sims = np.asarray(emb.embed(seg["text"].tolist()) @ np.asarray(emb.embed(defs)).T)
    seg = seg.assign(**{c.id: sims[:, j] for j, c in enumerate(book.active_codes)})
    vmax = seg.groupby("venture_id")[book.ids()].max()
    gold = load_gold(path)
    best = {"kappa": -1.0}
    for t in np.quantile(vmax.to_numpy().ravel(), np.linspace(0.5, 0.999, 200)):
        pred = {v: {c for c in book.ids() if row[c] >= t} for v, row in vmax.iterrows()}
        rep = compare(gold, pred, book.ids())
        if rep.pooled["kappa"] > best["kappa"]:
            best = {**rep.pooled, "threshold": float(t)}
    return best


def run(backend: str, path: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, Project.open(Path(tmp) / "q.db") as proj:
        proj.import_path(path)
        t0 = time.perf_counter()
        result = proj.code(embedder=backend, workers=2)
        seconds = time.perf_counter() - t0
        rep = proj.evaluate(path)
    per_code = {
        r["code_id"]: {k: r[k] for k in ("support", "predicted", "precision", "recall", "f1")}
        for r in rep.per_code.to_dict("records")
        if r["support"] or r["predicted"]
    }
    return {
        "backend": backend,
        "coder": result.coder,
        "params": result.params,
        "seconds": round(seconds, 2),
        **{k: round(v, 4) for k, v in rep.pooled.items()},
        "per_code": per_code,
    }


def main(backends: list[str]) -> None:
    path = _common.shared("dev_seed_labels.jsonl")
    results = []
    for backend in backends:
        res = run(backend, path)
        results.append(res)
        print(
            f"{backend:8s} F1 {res['f1']:.3f}  kappa {res['kappa']:.3f}  alpha {res['alpha']:.3f}  "
            f"P {res['precision']:.3f}  R {res['recall']:.3f}  ({res['seconds']}s)"
        )
    base = naive_baseline(path)
    print(
        f"naive baseline (MiniLM max-cosine, oracle threshold): F1 {base['f1']:.3f}  "
        f"kappa {base['kappa']:.3f}"
    )
    out = _common.write_result(
        "coding_quality", {"dataset": "dev_seed_labels.jsonl", "results": results, "naive_baseline": base}
    )
    print(f"written {out}")
    print(json.dumps({r["backend"]: r["per_code"] for r in results}, indent=1)[:3000])


if __name__ == "__main__":
    main(sys.argv[1:] or ["static", "minilm", "tfidf"])
