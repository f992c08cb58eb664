"""Choose the zero-shot decision threshold per embedding backend on the shipped demo corpus.

The demo corpus (src/simap/demo) is written and labelled by the simap team; evaluation data is
never used here. Prints, per backend, pooled Cohen's kappa on the demo gold for a range of
thresholds and the best one; copy it into DEFAULT_THRESHOLDS in simap/coding/zeroshot.py.

    python bench/calibrate_zeroshot.py [backend ...]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import _common  # noqa: F401  (offline environment)
from simap import codebook as cb
from simap.coding.zeroshot import ZeroShotCoder, sigmoid
from simap.demo import GOLD_PATH, VENTURES_PATH, load_gold
from simap.embed import get_embedder
from simap.ingest import read
from simap.ingest.segment import segment_documents
from simap.review.agreement import compare

THRESHOLDS = np.round(np.arange(-1.0, 3.01, 0.25), 2)


def sweep(backend: str) -> dict[str, float]:
    batch = read(str(VENTURES_PATH))
    seg = segment_documents(batch.documents)
    gold = load_gold(GOLD_PATH)
    book = cb.load("social-innovation")
    coder = ZeroShotCoder(get_embedder(backend), threshold=0.0).fit(book, corpus=seg["text"].tolist())
    sugg = coder.predict(seg)
    out = {}
    for t in THRESHOLDS:
        present = sugg[sigmoid(sugg["raw"].to_numpy() - t) >= 0.5]
        pred = {v: set(g["code_id"]) for v, g in present.groupby("venture_id")}
        pred.update({v: set() for v in gold if v not in pred})
        out[float(t)] = compare(gold, pred, book.ids()).pooled["kappa"]
    return out


def main(backends: list[str]) -> None:
    for backend in backends:
        res = sweep(backend)
        best = max(res, key=lambda t: res[t])
        print(backend, " ".join(f"{t:+.2f}:{k:.2f}" for t, k in res.items()))
        print(f"  best threshold for {backend}: {best:+.2f} (demo kappa {res[best]:.3f})")
    pd.set_option("display.width", 200)


if __name__ == "__main__":
    main(sys.argv[1:] or ["static", "minilm", "tfidf"])
