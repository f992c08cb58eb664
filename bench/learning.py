"""The learning coder, measured against real labels (issue 3), in one run:

1. learning curve on the hand-coded dev labels (5-fold; 0/10/25/50/80 training labels) of the
   default (stacked) learning coder; ``dev_retrain`` gives the earlier sentence-retraining
   variant on the same folds, for comparison;
2. NTEE major groups on ntee_4000.jsonl (25 classes, single label, 5-fold): zero-shot, the
   supervised coder with one ablation per ingredient, and a TF-IDF + logistic-regression
   baseline side by side; ``ntee_curve`` gives accuracy by number of training records;
3. SDG labels on dpg_ventures.jsonl (multi-label, 5-fold): zero-shot with the `sdg` codebook,
   supervised with its ablations, a TF-IDF + logistic-regression baseline, and the default's
   micro-F1 at a score cut chosen on the answers (an optimistic ceiling); ``sdg_curve`` gives
   the scores by number of labelled ventures.

Training time per fold and coding speed are reported for each configuration.

    python bench/learning.py [dev] [dev_retrain] [ntee] [ntee_curve] [sdg] [sdg_curve]
    (default: dev ntee sdg)
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

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


def fit_and_code(
    emb: object,
    book: cb.Codebook,
    seg: pd.DataFrame,
    train: list[str],
    test: list[str],
    labels: pd.DataFrame,
    params: dict[str, object],
    ventures: pd.DataFrame | None,
    seconds: dict[str, float],
) -> pd.DataFrame:
    """Train the learning coder on ``train``, code ``test``; add the times to ``seconds``."""
    t1 = time.perf_counter()
    coder = SupervisedCoder(emb, **params).fit(  # type: ignore[arg-type]
        book, segments=seg[seg["venture_id"].isin(set(train))], labels=labels, ventures=ventures
    )
    t2 = time.perf_counter()
    out = coder.predict(seg[seg["venture_id"].isin(set(test))], ventures=ventures)
    seconds["train"] += t2 - t1
    seconds["code"] += time.perf_counter() - t2
    return out


# the default venture-level learning coder, then one ablation per ingredient (same folds)
NTEE_VARIANTS: dict[str, tuple[dict[str, object], bool]] = {
    # folds=1: no inner cross-validation report (simap train adds one: 5 more fits); the
    # predictions are the same
    "supervised": ({"folds": 1}, True),
    "no_context": ({"folds": 1}, False),  # without the organisation's name
    "no_char_ngrams": ({"folds": 1, "char_ngrams": False}, True),
    "no_codebook_docs": ({"folds": 1, "augment": False}, True),
}


def ntee_data() -> tuple[Any, pd.DataFrame, cb.Codebook, dict[str, str], list[str], dict[str, int], Any]:
    """The NTEE file read and segmented, its codebook, labels, ids, folds and the embedder."""
    batch = read(_common.shared("ntee_4000.jsonl"), skip_invalid=True)
    y_of = {
        v: m.get("ntee_major") for v, m in zip(batch.ventures["id"], batch.ventures["metadata"], strict=True)
    }
    ids = [v for v in batch.ventures["id"] if y_of.get(v)]
    seg = segment_documents(batch.documents)
    return batch, seg, cb.load("ntee"), y_of, ids, folds_of(ids), get_embedder(BACKEND)


def ntee() -> dict[str, object]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    batch, seg, book, y_of, ids, fold, emb = ntee_data()
    # the baseline reads what the learning coder reads: name, then each distinct text once
    names = dict(zip(batch.ventures["id"], batch.ventures["name"], strict=True))
    joined = seg.groupby("venture_id")["text"].apply(lambda s: " ".join(dict.fromkeys(s)))
    texts = {v: f"{names[v]} {joined.get(v, '')}" for v in ids}
    pred: dict[str, dict[str, str]] = {"zeroshot": {}, **{k: {} for k in NTEE_VARIANTS}, "tfidf_lr": {}}
    seconds: dict[str, dict[str, float]] = {k: {"train": 0.0, "code": 0.0} for k in pred}
    t0 = time.perf_counter()
    zs = ZeroShotCoder(emb).fit(book)
    z = zs.predict(seg).pivot(index="venture_id", columns="code_id", values="raw")
    pred["zeroshot"] = dict(zip(z.index, z.idxmax(axis=1), strict=True))
    seconds["zeroshot"]["code"] = time.perf_counter() - t0
    for f in range(5):
        train = [v for v in ids if fold[v] != f]
        test = [v for v in ids if fold[v] == f]
        labels = labels_frame({v: {y_of[v]} for v in train}, book.ids())
        for name, (params, with_context) in NTEE_VARIANTS.items():
            ventures = batch.ventures if with_context else None
            out = fit_and_code(emb, book, seg, train, test, labels, params, ventures, seconds[name])
            best = out.loc[out.groupby("venture_id")["score"].idxmax()]
            pred[name].update(dict(zip(best["venture_id"], best["code_id"], strict=True)))
        t1 = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        xtr = vec.fit_transform([texts[v] for v in train])
        clf = LogisticRegression(C=10.0, max_iter=3000).fit(xtr, [y_of[v] for v in train])
        t2 = time.perf_counter()
        pred["tfidf_lr"].update(
            dict(zip(test, clf.predict(vec.transform([texts[v] for v in test])), strict=True))
        )
        seconds["tfidf_lr"]["train"] += t2 - t1
        seconds["tfidf_lr"]["code"] += time.perf_counter() - t2
    y = [y_of[v] for v in ids]
    res: dict[str, object] = {"records": len(ids)}
    for name, p in pred.items():
        yp = [p.get(v, "") for v in ids]
        res[name] = {
            "accuracy": round(accuracy_score(y, yp), 4),
            "macro_f1": round(f1_score(y, yp, average="macro"), 4),
            "train_seconds_per_fold": round(seconds[name]["train"] / 5, 1),
            "ventures_per_second": round(len(ids) / max(seconds[name]["code"], 1e-9), 1),
        }
        print(f"NTEE {name:16s} {res[name]}", flush=True)
    return res


def ntee_curve(sizes: tuple[int, ...] = (400, 800, 1600, 3170)) -> dict[str, object]:
    """NTEE accuracy of the default learning coder by number of training records (same folds):
    how fast it grows says how many labelled records a target would need."""
    batch, seg, book, y_of, ids, fold, emb = ntee_data()
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        pred: dict[str, str] = {}
        for f in range(5):
            pool = [v for v in ids if fold[v] != f]
            train = [pool[i] for i in rng.permutation(len(pool))[:n]]
            test = [v for v in ids if fold[v] == f]
            coder = SupervisedCoder(emb, folds=1).fit(
                book,
                segments=seg[seg["venture_id"].isin(set(train))],
                labels=labels_frame({v: {y_of[v]} for v in train}, book.ids()),
                ventures=batch.ventures,
            )
            out = coder.predict(seg[seg["venture_id"].isin(set(test))], ventures=batch.ventures)
            best = out.loc[out.groupby("venture_id")["score"].idxmax()]
            pred.update(dict(zip(best["venture_id"], best["code_id"], strict=True)))
        y = [y_of[v] for v in ids]
        yp = [pred.get(v, "") for v in ids]
        rows.append(
            {
                "train_records": n,
                "accuracy": round(accuracy_score(y, yp), 4),
                "macro_f1": round(f1_score(y, yp, average="macro"), 4),
            }
        )
        print(f"NTEE curve {rows[-1]}", flush=True)
    # accuracy is close to linear in log(records): extrapolate where it would reach the target
    x = np.log2([r["train_records"] for r in rows])
    slope, intercept = np.polyfit(x, [r["accuracy"] for r in rows], 1)
    need = float(2 ** ((0.70 - intercept) / slope)) if slope > 0 else None
    out = {"curve": rows, "gain_per_doubling": round(float(slope), 4), "records_for_0_70": need}
    print(f"NTEE curve: {slope:+.3f} accuracy per doubling of the records; 0.70 at about {need} records")
    return out


SDG_VARIANTS: dict[str, tuple[dict[str, object], bool]] = {
    "supervised": (SDG_PARAMS, True),
    "no_context": ({**SDG_PARAMS, "context_fields": ()}, False),
    "no_at_least_one": ({**SDG_PARAMS, "at_least_one": False}, True),
    "no_codebook_docs": ({**SDG_PARAMS, "augment": False}, True),
}


def sdg_data() -> tuple[Any, pd.DataFrame, cb.Codebook, dict[str, set[str]], list[str], Any]:
    """The DPG file read and segmented, the `sdg` codebook, the declared SDGs, the ids that
    declare at least one, and the embedder."""
    batch = read(_common.shared("dpg_ventures.jsonl"))
    truth = {
        v: {f"SDG{n}" for n in (m.get("sdgs") or [])}
        for v, m in zip(batch.ventures["id"], batch.ventures["metadata"], strict=True)
    }
    ids = [v for v in batch.ventures["id"] if truth[v]]
    return batch, segment_documents(batch.documents), cb.load("sdg"), truth, ids, get_embedder(BACKEND)


def sdg_curve() -> dict[str, object]:
    """SDG suggestions by number of labelled ventures, through the product's own learning curve
    (``simap evaluate --cv 5``): pooled F1 is micro-F1."""
    batch, seg, book, truth, ids, emb = sdg_data()
    curve = learning_curve(
        book,
        seg[seg["venture_id"].isin(set(ids))],
        labels_frame({v: truth[v] for v in ids}, book.ids()),
        emb,
        sizes=[0, 25, 50, 100, 200, 400, 572],
        folds=5,
        params=SDG_PARAMS,
        ventures=batch.ventures,
    )
    print(curve.to_string(index=False))
    return {"curve": curve.to_dict("records")}


def sdg() -> dict[str, object]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MultiLabelBinarizer

    batch, seg, book, truth, ids, emb = sdg_data()
    mlb = MultiLabelBinarizer(classes=book.ids()).fit([book.ids()])
    yt = mlb.transform([truth[v] for v in ids])
    pred: dict[str, dict[str, set[str]]] = {"zeroshot": {}, **{k: {} for k in SDG_VARIANTS}, "tfidf_lr": {}}
    seconds: dict[str, dict[str, float]] = {k: {"train": 0.0, "code": 0.0} for k in pred}
    t0 = time.perf_counter()
    zs = ZeroShotCoder(emb).fit(book).predict(seg[seg["venture_id"].isin(set(ids))])
    pred["zeroshot"] = {v: set(g.loc[g["score"] >= 0.5, "code_id"]) for v, g in zs.groupby("venture_id")}
    seconds["zeroshot"]["code"] = time.perf_counter() - t0
    texts = seg.groupby("venture_id")["text"].apply(lambda s: " ".join(s))
    fold = folds_of(ids)
    scores = np.zeros(yt.shape)  # the default's out-of-fold scores, for the threshold ceiling below
    row = {v: i for i, v in enumerate(ids)}
    for f in range(5):
        train = [v for v in ids if fold[v] != f]
        test = [v for v in ids if fold[v] == f]
        labels = labels_frame({v: truth[v] for v in train}, book.ids())
        for name, (params, with_context) in SDG_VARIANTS.items():
            ventures = batch.ventures if with_context else None
            out = fit_and_code(emb, book, seg, train, test, labels, params, ventures, seconds[name])
            pred[name].update(
                {v: set(g.loc[g["score"] >= 0.5, "code_id"]) for v, g in out.groupby("venture_id")}
            )
            if name == "supervised":
                col = {c: j for j, c in enumerate(book.ids())}
                for v, c, sc in zip(out["venture_id"], out["code_id"], out["score"], strict=True):
                    scores[row[v], col[c]] = sc
        t1 = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        xtr = vec.fit_transform([texts[v] for v in train])
        ytr = mlb.transform([truth[v] for v in train])
        xte = vec.transform([texts[v] for v in test])
        for j, code in enumerate(book.ids()):
            if ytr[:, j].sum() >= 2:
                clf = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000).fit(xtr, ytr[:, j])
                for v, p in zip(test, clf.predict_proba(xte)[:, 1], strict=True):
                    if p >= 0.5:
                        pred["tfidf_lr"].setdefault(v, set()).add(code)
        seconds["tfidf_lr"]["train"] += time.perf_counter() - t1
    res: dict[str, object] = {"ventures": len(ids)}
    for name, p in pred.items():
        yp = mlb.transform([p.get(v, set()) for v in ids])
        res[name] = {
            "micro_f1": round(f1_score(yt, yp, average="micro"), 4),
            "macro_f1": round(f1_score(yt, yp, average="macro", zero_division=0), 4),
            "train_seconds_per_fold": round(seconds[name]["train"] / 5, 1),
            "ventures_per_second": round(len(ids) / max(seconds[name]["code"], 1e-9), 1)
            if seconds[name]["code"]
            else None,
        }
        print(f"SDG {name:16s} {res[name]}", flush=True)
    # an optimistic ceiling of the default model: one score cut chosen on the answers themselves
    best = max(
        (f1_score(yt, (scores >= cut) | (scores == scores.max(axis=1, keepdims=True)), average="micro"), cut)
        for cut in np.linspace(0.05, 0.95, 91)
    )
    res["oracle_cut"] = {"micro_f1": round(float(best[0]), 4), "cut": round(float(best[1]), 2)}
    print(f"SDG oracle cut {res['oracle_cut']}")
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
