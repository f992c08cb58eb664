"""The learning coder, measured against real labels (issue 3), in one run:

1. learning curve on the hand-coded dev labels (5-fold; 0/10/25/50/80 training labels) of the
   default (stacked) learning coder; ``dev_retrain`` gives the earlier sentence-retraining
   variant on the same folds, for comparison;
2. NTEE major groups on ntee_4000.jsonl (25 classes, single label, 5-fold): zero-shot, the
   supervised coder, and a TF-IDF + logistic-regression baseline side by side;
3. SDG labels on dpg_ventures.jsonl (multi-label, 5-fold): zero-shot with the `sdg` codebook
   and supervised; micro- and macro-F1.

    python bench/learning.py [dev] [dev_retrain] [ntee] [sdg]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

import _common
from simap import codebook as cb
from simap.coding.supervised import SupervisedCoder
from simap.coding.training import learning_curve
from simap.coding.zeroshot import ZeroShotCoder
from simap.embed import get_embedder
from simap.ingest import read
from simap.ingest.segment import segment_documents

BACKEND = "static"
# every registry entry declares at least one SDG; organisations, types and sectors are registry fields
SDG_PARAMS = {
    "level": "venture",
    "at_least_one": True,
    "context_fields": ("organizations", "types", "sectors"),
}


def labels_frame(truth: dict[str, set[str]], codes: list[str], evidence: dict | None = None) -> pd.DataFrame:
    rows = []
    for vid, have in truth.items():
        for c in codes:
            quote = (evidence or {}).get(vid, {}).get(c)
            rows.append((vid, c, "accepted" if c in have else "rejected", [{"text": quote}] if quote else []))
    return pd.DataFrame(rows, columns=["venture_id", "code_id", "status", "evidence"])


def folds_of(ids: list[str], k: int = 5, seed: int = 0) -> dict[str, int]:
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[i]: n % k for n, i in enumerate(order)}


def dev(params: dict[str, object] | None = None) -> dict[str, object]:
    path = _common.shared("dev_seed_labels.jsonl")
    records = [json.loads(line) for line in path.open(encoding="utf-8")]
    book = cb.load("social-innovation")
    seg = segment_documents(read(path).documents)
    truth = {r["id"]: set(r["codes"]) for r in records}
    ev = {r["id"]: r.get("evidence", {}) for r in records}
    t0 = time.perf_counter()
    curve = learning_curve(
        book,
        seg,
        labels_frame(truth, book.ids(), ev),
        get_embedder(BACKEND),
        sizes=[0, 10, 25, 50, 80],
        folds=5,
        params=params,
    )
    out = {
        "params": params or {},
        "curve": curve.to_dict("records"),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(curve.to_string(index=False))
    return out


def dev_retrain() -> dict[str, object]:
    """The sentence-retraining variant (the default before the stacked coder) on the same folds."""
    return dev({"method": "retrain"})


def ntee() -> dict[str, object]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    batch = read(_common.shared("ntee_4000.jsonl"), skip_invalid=True)
    seg = segment_documents(batch.documents)
    book = cb.load("ntee")
    y_of = {
        v: m.get("ntee_major") for v, m in zip(batch.ventures["id"], batch.ventures["metadata"], strict=True)
    }
    ids = [v for v in batch.ventures["id"] if y_of.get(v)]
    fold = folds_of(ids)
    emb = get_embedder(BACKEND)
    texts = seg.groupby("venture_id")["text"].apply(lambda s: " ".join(s))
    pred: dict[str, dict[str, str]] = {"zeroshot": {}, "supervised": {}, "tfidf_lr": {}}
    t0 = time.perf_counter()
    zs = ZeroShotCoder(emb).fit(book)
    z = zs.predict(seg).pivot(index="venture_id", columns="code_id", values="raw")
    pred["zeroshot"] = dict(zip(z.index, z.idxmax(axis=1), strict=True))
    t_zero = time.perf_counter() - t0
    t_sup = t_base = 0.0
    for f in range(5):
        train = [v for v in ids if fold[v] != f]
        test = [v for v in ids if fold[v] == f]
        t1 = time.perf_counter()
        labels = labels_frame({v: {y_of[v]} for v in train}, book.ids())
        coder = SupervisedCoder(emb).fit(
            book, segments=seg[seg["venture_id"].isin(set(train))], labels=labels, ventures=batch.ventures
        )
        out = coder.predict(seg[seg["venture_id"].isin(set(test))], ventures=batch.ventures)
        best = out.loc[out.groupby("venture_id")["score"].idxmax()]
        pred["supervised"].update(dict(zip(best["venture_id"], best["code_id"], strict=True)))
        t_sup += time.perf_counter() - t1
        t1 = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        xtr = vec.fit_transform([texts[v] for v in train])
        clf = LogisticRegression(C=10.0, max_iter=3000).fit(xtr, [y_of[v] for v in train])
        pred["tfidf_lr"].update(
            dict(zip(test, clf.predict(vec.transform([texts[v] for v in test])), strict=True))
        )
        t_base += time.perf_counter() - t1
    y = [y_of[v] for v in ids]
    res = {}
    for name, p in pred.items():
        yp = [p.get(v, "") for v in ids]
        res[name] = {
            "accuracy": round(accuracy_score(y, yp), 4),
            "macro_f1": round(f1_score(y, yp, average="macro"), 4),
        }
        print(f"NTEE {name:10s} accuracy {res[name]['accuracy']:.3f}  macro-F1 {res[name]['macro_f1']:.3f}")
    res["seconds"] = {
        "zeroshot": round(t_zero, 1),
        "supervised_5_folds": round(t_sup, 1),
        "tfidf_lr_5_folds": round(t_base, 1),
    }
    res["records"] = len(ids)
    return res


def sdg() -> dict[str, object]:
    from sklearn.preprocessing import MultiLabelBinarizer

    batch = read(_common.shared("dpg_ventures.jsonl"))
    seg = segment_documents(batch.documents)
    book = cb.load("sdg")
    truth = {
        v: {f"SDG{n}" for n in (m.get("sdgs") or [])}
        for v, m in zip(batch.ventures["id"], batch.ventures["metadata"], strict=True)
    }
    ids = [v for v in batch.ventures["id"] if truth[v]]
    emb = get_embedder(BACKEND)
    t0 = time.perf_counter()
    zs = ZeroShotCoder(emb).fit(book).predict(seg[seg["venture_id"].isin(set(ids))])
    zero = {v: set(g.loc[g["score"] >= 0.5, "code_id"]) for v, g in zs.groupby("venture_id")}
    t_zero = time.perf_counter() - t0
    fold = folds_of(ids)
    sup: dict[str, set[str]] = {}
    t0 = time.perf_counter()
    for f in range(5):
        train = [v for v in ids if fold[v] != f]
        test = [v for v in ids if fold[v] == f]
        coder = SupervisedCoder(emb, **SDG_PARAMS).fit(
            book,
            segments=seg[seg["venture_id"].isin(set(train))],
            labels=labels_frame({v: truth[v] for v in train}, book.ids()),
            ventures=batch.ventures,
        )
        out = coder.predict(seg[seg["venture_id"].isin(set(test))], ventures=batch.ventures)
        sup.update({v: set(g.loc[g["score"] >= 0.5, "code_id"]) for v, g in out.groupby("venture_id")})
    t_sup = time.perf_counter() - t0
    mlb = MultiLabelBinarizer(classes=book.ids()).fit([book.ids()])
    yt = mlb.transform([truth[v] for v in ids])
    res: dict[str, object] = {"ventures": len(ids)}
    for name, p in (("zeroshot", zero), ("supervised", sup)):
        yp = mlb.transform([p.get(v, set()) for v in ids])
        res[name] = {
            "micro_f1": round(f1_score(yt, yp, average="micro"), 4),
            "macro_f1": round(f1_score(yt, yp, average="macro", zero_division=0), 4),
        }
        print(f"SDG {name:10s} micro-F1 {res[name]['micro_f1']:.3f}  macro-F1 {res[name]['macro_f1']:.3f}")  # type: ignore[index]
    res["seconds"] = {"zeroshot": round(t_zero, 1), "supervised_5_folds": round(t_sup, 1)}
    return res


def main(parts: list[str]) -> None:
    results = {}
    for part in parts:
        t0 = time.perf_counter()
        results[part] = globals()[part]()
        print(f"== {part}: {time.perf_counter() - t0:.0f} s, peak {_common.peak_rss_mb()} MB", flush=True)
    results["peak_rss_mb"] = _common.peak_rss_mb()
    print(f"written {_common.write_result('learning', {'backend': BACKEND, **results})}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["dev", "ntee", "sdg"])
