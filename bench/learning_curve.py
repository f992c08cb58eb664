"""Learning curve of the supervised coder on the hand-coded dev labels (5-fold).

For each fold, the held-out 20% are coded by a SupervisedCoder trained on the first n labelled
ventures of the other folds (n = 0, 10, 25, 50, 80), using the labels' evidence quotes like a
reviewer's highlights; pooled Cohen's kappa and F1 over all held-out decisions.

    python bench/learning_curve.py [backend]
"""

from __future__ import annotations

import json
import sys
import time

import _common
import numpy as np
import pandas as pd

from simap import codebook as cb
from simap.coding.supervised import SupervisedCoder
from simap.embed import MemoryCache, get_embedder
from simap.ingest import read
from simap.ingest.segment import segment_documents
from simap.review.agreement import compare

SIZES = [0, 10, 25, 50, 80]


def labels_frame(records: list[dict], codes: list[str]) -> pd.DataFrame:
    rows = []
    for r in records:
        for c in codes:
            if c in r["codes"]:
                quote = r.get("evidence", {}).get(c)
                rows.append((r["id"], c, "accepted", [{"text": quote}] if quote else []))
            else:
                rows.append((r["id"], c, "rejected", []))
    return pd.DataFrame(rows, columns=["venture_id", "code_id", "status", "evidence"])


def curve(path: str, backend: str, folds: int = 5, seed: int = 0) -> dict[str, object]:
    records = [json.loads(line) for line in open(path, encoding="utf-8")]
    book = cb.load("social-innovation")
    seg = segment_documents(read(path).documents)
    emb = get_embedder(backend)
    cache = MemoryCache()
    ids = [r["id"] for r in records]
    gold = {r["id"]: set(r["codes"]) for r in records}
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(ids)))
    fold_of = {ids[i]: f % folds for f, i in enumerate(order)}
    preds: dict[int, dict[str, set[str]]] = {n: {} for n in SIZES}
    t0 = time.perf_counter()
    for f in range(folds):
        test = [v for v in ids if fold_of[v] == f]
        pool = [v for v in ids if fold_of[v] != f]
        test_seg = seg[seg["venture_id"].isin(set(test))]
        for n in SIZES:
            train = pool[:n]
            labels = labels_frame([r for r in records if r["id"] in set(train)], book.ids())
            coder = SupervisedCoder(emb, cache=cache if emb.cacheable else None)
            coder.fit(book, corpus=seg["text"].tolist(), segments=seg[seg["venture_id"].isin(set(train))],
                      labels=labels)
            out = coder.predict(test_seg)
            for v in test:
                preds[n][v] = set(out[(out["venture_id"] == v) & (out["score"] >= 0.5)]["code_id"])
    rows = []
    for n in SIZES:
        rep = compare(gold, preds[n], book.ids())
        rows.append({"labels": n, "kappa": round(rep.pooled["kappa"], 4), "f1": round(rep.pooled["f1"], 4),
                     "precision": round(rep.pooled["precision"], 4), "recall": round(rep.pooled["recall"], 4)})
    return {"backend": backend, "folds": folds, "curve": rows, "seconds": round(time.perf_counter() - t0, 1)}


def main(backends: list[str]) -> None:
    path = str(_common.shared("dev_seed_labels.jsonl"))
    results = []
    for backend in backends:
        res = curve(path, backend)
        results.append(res)
        for row in res["curve"]:  # type: ignore[union-attr]
            print(f"{backend:7s} {row['labels']:3d} labels: kappa {row['kappa']:.3f}  F1 {row['f1']:.3f}  "
                  f"P {row['precision']:.3f}  R {row['recall']:.3f}")
        print(f"  ({res['seconds']} s for {len(SIZES)} sizes x 5 folds)")
    print(f"written {_common.write_result('learning_curve', {'results': results})}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["static"])
