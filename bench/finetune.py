"""Does fine-tuning the sentence model on the labels help? (issue 3, SetFit-style option)

5-fold on the dev labels, 80 training labels per fold: the supervised coder on `static`, on the
packaged MiniLM, and on MiniLM fine-tuned on that fold's labels (`simap train --finetune`);
pooled kappa and F1 over the held-out folds, and the time the fine-tuning takes on 2 cores.

    python bench/finetune.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import _common
from simap import codebook as cb
from simap.coding.finetune import finetune_sentence_model
from simap.coding.supervised import SupervisedCoder
from simap.embed import get_embedder
from simap.ingest import read
from simap.ingest.segment import segment_documents
from simap.review.agreement import compare

MAX_PAIRS = 600  # a 2-core budget: ~1 minute of fine-tuning per fold when the machine is quiet


def main() -> None:
    path = _common.shared("dev_seed_labels.jsonl")
    records = [json.loads(line) for line in path.open(encoding="utf-8")]
    book = cb.load("social-innovation")
    seg = segment_documents(read(path).documents)
    rows = []
    for r in records:
        for c in book.ids():
            quote = r.get("evidence", {}).get(c)
            status = "accepted" if c in r["codes"] else "rejected"
            rows.append((r["id"], c, status, [{"text": quote}] if quote and status == "accepted" else []))
    labels = pd.DataFrame(rows, columns=["venture_id", "code_id", "status", "evidence"])
    gold = {r["id"]: set(r["codes"]) for r in records}
    ids = [r["id"] for r in records]
    order = [ids[i] for i in np.random.default_rng(0).permutation(len(ids))]
    fold_of = {v: i % 5 for i, v in enumerate(order)}
    preds: dict[str, dict[str, set[str]]] = {"static": {}, "minilm": {}, "minilm-finetuned": {}}
    tune_seconds = []
    for f in range(5):
        train = [v for v in order if fold_of[v] != f]
        test = [v for v in order if fold_of[v] == f]
        tr_seg, te_seg = seg[seg["venture_id"].isin(set(train))], seg[seg["venture_id"].isin(set(test))]
        tr_lab = labels[labels["venture_id"].isin(set(train))]
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            tuned = finetune_sentence_model(
                book, tr_seg, tr_lab, Path(tmp) / "m", min_positives=1, max_pairs=MAX_PAIRS
            )
            tune_seconds.append(time.perf_counter() - t0)
            for name, emb in (
                ("static", get_embedder("static")),
                ("minilm", get_embedder("minilm")),
                ("minilm-finetuned", get_embedder("minilm", model=str(tuned))),
            ):
                coder = SupervisedCoder(emb).fit(book, segments=tr_seg, labels=tr_lab)
                out = coder.predict(te_seg)
                for v in test:
                    preds[name][v] = set(out.loc[(out["venture_id"] == v) & (out["score"] >= 0.5), "code_id"])
        print(f"fold {f} done ({tune_seconds[-1]:.0f} s fine-tuning)", flush=True)
    results = {}
    for name, p in preds.items():
        rep = compare(gold, p, book.ids())
        results[name] = {k: round(rep.pooled[k], 4) for k in ("kappa", "f1", "precision", "recall")}
        print(f"{name:17s} kappa {results[name]['kappa']:.3f}  F1 {results[name]['f1']:.3f}")
    out = _common.write_result(
        "finetune", {"results": results, "finetune_seconds_per_fold": round(float(np.mean(tune_seconds)), 1)}
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
