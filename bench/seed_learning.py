"""The learning coder on all ~570 coded DPG ventures (issue 11 item 1).

Grouped 5-fold cross-validation over dev_seed_labels.jsonl + train_seed_labels.jsonl: ventures
of one organisation (the first of ``organizations`` in dpg_ventures.jsonl) stay in one fold, so a
family of near-identical entries (TidePool Viz, TidePool Blip, ...) cannot leak across folds;
folds are stratified on B2 and on "has any code". Reported per configuration: pooled Cohen's
kappa over all venture x code decisions, per-code kappa with 95% intervals from a cluster
bootstrap over organisations (1,000 resamples), Brier score of the held-out scores, recall at
precision 0.8 per code (thresholds chosen on the training folds' out-of-fold scores) and training
time. ``curve`` gives the default configuration at 50/100/200/400/all training labels.

    python bench/seed_learning.py [ablation] [curve] [finetune]   (default: ablation curve)

Writes bench/out/seed_learning.json. ``finetune`` (slow, bench/out/seed_learning_finetune.json):
the blend on plain MiniLM, and ``simap train --finetune`` per fold (MiniLM fine-tuned on that
fold's training texts, its per-code heads added to the blend at weights 0.25 and 0.5, and alone),
each with the paired bootstrap gain over the blend and, for B2, the best kappa over every cut
chosen on the held-out answers (an upper bound of what a threshold can do, not a result).
"""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

import _common
from simap import codebook as cb
from simap.coding.calibration import brier_score, precision_thresholds
from simap.coding.supervised import SupervisedCoder
from simap.coding.zeroshot import ZeroShotCoder
from simap.embed import get_embedder
from simap.embed.cache import MemoryCache
from simap.ingest import read
from simap.ingest.segment import segment_documents

BACKEND = "static"
FILES = ("dev_seed_labels.jsonl", "train_seed_labels.jsonl")
CONFIGS: dict[str, dict[str, Any] | None] = {
    "zeroshot": None,
    "stack (previous default)": {"method": "stack"},
    "blend (default)": {"method": "blend"},
    "blend, calibrated (simap train --calibrate)": {"method": "blend", "calibrate": True},
    "blend, no codebook documents": {"method": "blend", "augment": False},
    "blend, no character n-grams": {"method": "blend", "char_ngrams": False},
    "blend, codes with >= 8 positives": {"method": "blend", "blend_min_positives": 8},
    "venture-level SVM": {"level": "venture"},
}


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def load() -> dict[str, Any]:
    paths = [_common.shared(f) for f in FILES]
    records = [json.loads(line) for p in paths for line in p.open(encoding="utf-8")]
    dpg = {
        r["id"]: r
        for r in (json.loads(line) for line in _common.shared("dpg_ventures.jsonl").open(encoding="utf-8"))
    }
    groups = []
    for r in records:
        orgs = dpg.get(r["id"], {}).get("organizations") or []
        groups.append(_norm(orgs[0]) if orgs else "id:" + r["id"])
    book = cb.load("social-innovation")
    batches = [read(p) for p in paths]
    seg = pd.concat([segment_documents(b.documents) for b in batches], ignore_index=True)
    ventures = pd.concat([b.ventures for b in batches], ignore_index=True)  # names: what `simap train` reads
    ids = [r["id"] for r in records]
    y = np.array([[c in r["codes"] for c in book.ids()] for r in records], dtype=np.int8)
    labels = pd.DataFrame(
        [
            (
                r["id"],
                c,
                "accepted" if c in r["codes"] else "rejected",
                [{"text": r["evidence"][c]}] if c in r.get("evidence", {}) else [],
            )
            for r in records
            for c in book.ids()
        ],
        columns=["venture_id", "code_id", "status", "evidence"],
    )
    return {
        "ids": ids,
        "groups": np.array(groups),
        "y": y,
        "book": book,
        "seg": seg,
        "labels": labels,
        "ventures": ventures,
    }


def folds(data: dict[str, Any], k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    y = data["y"]
    strat = y[:, data["book"].ids().index("B2")] * 2 + (y.sum(1) > 0)
    sgk = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(sgk.split(np.zeros(len(y)), strat, data["groups"]))


def kappa(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool).ravel(), b.astype(bool).ravel()
    po = float((a == b).mean())
    pa, pb = a.mean(), b.mean()
    pe = pa * pb + (1 - pa) * (1 - pb)
    return float((po - pe) / (1 - pe)) if pe < 1 else float("nan")


def bootstrap(data: dict[str, Any], pred: np.ndarray, n: int = 1000, seed: int = 0) -> dict[str, Any]:
    """95% intervals of pooled and per-code kappa, resampling organisations (cluster bootstrap)."""
    y, groups, codes = data["y"], data["groups"], data["book"].ids()
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    pooled, per = [], {c: [] for c in codes}
    for _ in range(n):
        rows = np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])
        pooled.append(kappa(y[rows], pred[rows]))
        for j, c in enumerate(codes):
            if y[rows, j].any():
                per[c].append(kappa(y[rows, j], pred[rows, j]))

    def ci(v: list[float]) -> list[float] | None:
        v = [x for x in v if not np.isnan(x)]
        return (
            [round(float(np.percentile(v, 2.5)), 3), round(float(np.percentile(v, 97.5)), 3)] if v else None
        )

    return {"pooled": ci(pooled), "per_code": {c: ci(v) for c, v in per.items()}}


def run(
    data: dict[str, Any],
    params: dict[str, Any] | None,
    *,
    n_train: int | None = None,
    backend: str = BACKEND,
) -> dict[str, Any]:
    """Grouped 5-fold CV of one configuration (``params`` None: the zero-shot coder)."""
    emb = get_embedder(backend)
    cache = MemoryCache()
    book, seg, labels, ids = data["book"], data["seg"], data["labels"], data["ids"]
    codes = book.ids()
    score = np.zeros(data["y"].shape)
    pred = np.zeros(data["y"].shape, dtype=np.int8)
    cut_pred = np.zeros(data["y"].shape, dtype=np.int8)  # at the precision-0.8 thresholds
    seconds = 0.0
    for f, (tr, te) in enumerate(folds(data)):
        if n_train is not None:
            tr = np.random.default_rng(f).permutation(tr)[:n_train]
        train_ids = {ids[i] for i in tr}
        test_ids = [ids[i] for i in te]
        t0 = time.perf_counter()
        if params is None:
            coder: Any = ZeroShotCoder(emb, cache=cache).fit(book)
        else:
            coder = SupervisedCoder(emb, cache=cache, **params).fit(
                book,
                segments=seg[seg["venture_id"].isin(train_ids)],
                labels=labels[labels["venture_id"].isin(train_ids)],
            )
        seconds += time.perf_counter() - t0
        s = held_out(coder.predict(seg[seg["venture_id"].isin(set(test_ids))]), test_ids, codes)
        score[te] = s
        pred[te] = s >= 0.5
        if getattr(coder, "oof_scores_", None) is not None:
            thr = precision_thresholds(coder.oof_scores_, coder.oof_targets_, codes, 0.8)
            cut_pred[te] = s >= np.array([thr[c] for c in codes])[None, :]
    y = data["y"]
    per_code = {}
    for j, c in enumerate(codes):
        if y[:, j].any():
            tp = int((pred[:, j] & y[:, j]).sum())
            ctp = int((cut_pred[:, j] & y[:, j]).sum())
            per_code[c] = {
                "positives": int(y[:, j].sum()),
                "kappa": round(kappa(y[:, j], pred[:, j]), 3),
                "precision": round(tp / max(1, int(pred[:, j].sum())), 3),
                "recall": round(tp / int(y[:, j].sum()), 3),
                "at_precision_0.8": {
                    "precision": round(ctp / int(cut_pred[:, j].sum()), 3) if cut_pred[:, j].any() else None,
                    "recall": round(ctp / int(y[:, j].sum()), 3),
                },
            }
    ci = bootstrap(data, pred)
    for c in per_code:
        per_code[c]["kappa_ci95"] = ci["per_code"][c]
    return {
        "pooled_kappa": round(kappa(y, pred), 3),
        "pooled_kappa_ci95": ci["pooled"],
        "brier": round(brier_score(score, y), 4),
        "train_seconds_per_fold": round(seconds / 5, 2),
        "per_code": per_code,
    }


def held_out(out: pd.DataFrame, test_ids: list[str], codes: list[str]) -> np.ndarray:
    """SUGGESTIONS of the test ventures -> their (ventures x codes) scores, 0 where none."""
    piv = out.pivot(index="venture_id", columns="code_id", values="score")
    return piv.reindex(index=test_ids, columns=codes).fillna(0.0).to_numpy()


def oof_scores(data: dict[str, Any], params: dict[str, Any], *, names: bool = False) -> np.ndarray:
    """Held-out scores (ventures x codes) of one SupervisedCoder configuration on the folds
    (``names``: with the ventures' names as context, as ``simap train`` and ``simap code`` read them)."""
    vent = data["ventures"] if names else None
    emb, cache = get_embedder(BACKEND), MemoryCache()
    book, seg, labels, ids = data["book"], data["seg"], data["labels"], data["ids"]
    score = np.zeros(data["y"].shape)
    for tr, te in folds(data):
        train_ids, test_ids = {ids[i] for i in tr}, [ids[i] for i in te]
        coder = SupervisedCoder(emb, cache=cache, **params).fit(
            book,
            segments=seg[seg["venture_id"].isin(train_ids)],
            labels=labels[labels["venture_id"].isin(train_ids)],
            ventures=None if vent is None else vent[vent["id"].isin(train_ids)],
        )
        out = coder.predict(
            seg[seg["venture_id"].isin(set(test_ids))],
            None if vent is None else vent[vent["id"].isin(test_ids)],
        )
        score[te] = held_out(out, test_ids, book.ids())
    return score


def finetune_scores(
    data: dict[str, Any], weights: tuple[float, ...] = (0.25, 0.5), *, names: bool = True
) -> dict[str, Any]:
    """``simap train --finetune`` per fold: MiniLM fine-tuned on the training part's venture texts
    (:func:`simap.coding.finetune.finetune_classifier`), then the blend with its per-code heads at
    each weight in ``weights``; also the heads alone (weight 1). ``names``: texts start with the
    venture's name, as in ``simap train``. Held-out scores by weight."""
    import tempfile
    from pathlib import Path

    from simap.coding.finetune import finetune_classifier
    from simap.coding.supervised import label_targets, venture_texts

    emb, cache = get_embedder(BACKEND), MemoryCache()
    book, seg, labels, ids = data["book"], data["seg"], data["labels"], data["ids"]
    vent = data["ventures"] if names else None
    scores = {w: np.zeros(data["y"].shape) for w in (*weights, 1.0)}
    seconds = 0.0
    for tr, te in folds(data):
        train_ids, test_ids = [ids[i] for i in tr], [ids[i] for i in te]
        seg_tr = seg[seg["venture_id"].isin(set(train_ids))]
        lab_tr = labels[labels["venture_id"].isin(set(train_ids))]
        v_tr = None if vent is None else vent[vent["id"].isin(train_ids)]
        v_te = None if vent is None else vent[vent["id"].isin(test_ids)]
        t0 = time.perf_counter()
        folder = finetune_classifier(
            venture_texts(seg_tr, train_ids, v_tr),
            label_targets(lab_tr, train_ids, book.ids()),
            Path(tempfile.mkdtemp(prefix="simap-ft-")) / "m",
        )
        seconds += time.perf_counter() - t0
        tuned = get_embedder("minilm", model=str(folder))
        coder = SupervisedCoder(emb, cache=cache, method="blend", tuned_embedder=tuned)
        coder.fit(book, segments=seg_tr, labels=lab_tr, ventures=v_tr)
        for w in scores:  # the weight only applies at prediction: one fit serves them all
            coder.tuned_weight = w
            out = coder.predict(seg[seg["venture_id"].isin(set(test_ids))], v_te)
            scores[w][te] = held_out(out, test_ids, book.ids())
    return {"scores": scores, "finetune_seconds_per_fold": round(seconds / 5, 1)}


def paired_gain(
    data: dict[str, Any], base: np.ndarray, new: np.ndarray, n: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Pooled kappa of ``new`` minus ``base`` (both cut at 0.5) with a 95% interval from the same
    cluster bootstrap over organisations, and the share of resamples where it is <= 0."""
    y, groups = data["y"], data["groups"]
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    a, b = base >= 0.5, new >= 0.5
    diffs = []
    for _ in range(n):
        rows = np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])
        diffs.append(kappa(y[rows], b[rows]) - kappa(y[rows], a[rows]))
    return {
        "gain": round(kappa(y, b) - kappa(y, a), 3),
        "ci95": [round(float(np.percentile(diffs, 2.5)), 3), round(float(np.percentile(diffs, 97.5)), 3)],
        "p_not_better": round(float(np.mean(np.array(diffs) <= 0)), 3),
    }


def summarise(data: dict[str, Any], score: np.ndarray, cut: float = 0.5) -> dict[str, Any]:
    """Pooled and per-code kappa at ``cut``, and B2's best kappa over every cut (chosen on the
    held-out answers: an upper bound, not a result) with its ranking quality (AUC, AP)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, codes = data["y"], data["book"].ids()
    pred = (score >= cut).astype(np.int8)
    j = codes.index("B2")
    best = max(kappa(y[:, j], score[:, j] >= t) for t in np.unique(score[:, j]))
    return {
        "pooled_kappa": round(kappa(y, pred), 3),
        "per_code_kappa": {
            c: round(kappa(y[:, i], pred[:, i]), 3) for i, c in enumerate(codes) if y[:, i].any()
        },
        "B2_best_cut_kappa": round(best, 3),
        "B2_auc": round(float(roc_auc_score(y[:, j], score[:, j])), 3),
        "B2_average_precision": round(float(average_precision_score(y[:, j], score[:, j])), 3),
    }


def main(which: list[str]) -> None:
    data = load()
    out: dict[str, Any] = {
        "ventures": len(data["ids"]),
        "organisations": len(set(data["groups"])),
        "embedder": BACKEND,
        "folds": "5, grouped by organisation, stratified on B2 / any code",
    }
    if "ablation" in which:
        out["ablation"] = {}
        for name, params in CONFIGS.items():
            res = run(data, params)
            out["ablation"][name] = res
            b2 = res["per_code"]["B2"]
            print(
                f"{name:45s} pooled {res['pooled_kappa']:.3f} {res['pooled_kappa_ci95']} "
                f"B2 {b2['kappa']:.3f} {b2['kappa_ci95']} Brier {res['brier']:.4f} "
                f"({res['train_seconds_per_fold']:.1f} s/fold)",
                flush=True,
            )
    if "finetune" in which:  # slow: a MiniLM fine-tuning per fold
        # as `simap train` reads them: the ventures' names before their texts
        blend = oof_scores(data, CONFIGS["blend (default)"], names=True)  # type: ignore[arg-type]
        plain = run(data, CONFIGS["blend (default)"], backend="minilm")
        tuned = finetune_scores(data)
        out["finetune"] = {
            "finetune_seconds_per_fold": tuned["finetune_seconds_per_fold"],
            "blend on plain MiniLM (no fine-tuning)": {
                "pooled_kappa": plain["pooled_kappa"],
                "B2": plain["per_code"]["B2"]["kappa"],
            },
        }
        named = [("blend (default), with names", blend)] + [
            (f"blend + {w} x fine-tuned heads" if w < 1 else "fine-tuned heads alone", s)
            for w, s in tuned["scores"].items()
        ]
        for name, s in named:
            res = summarise(data, s)
            if name != "blend (default), with names":
                res["gain_over_blend"] = paired_gain(data, blend, s)
            out["finetune"][name] = res
            print(
                f"{name:45s} pooled {res['pooled_kappa']:.3f} B2 {res['per_code_kappa']['B2']:.3f} "
                f"B2 best cut {res['B2_best_cut_kappa']:.3f} AUC {res['B2_auc']:.3f} "
                f"AP {res['B2_average_precision']:.3f} {res.get('gain_over_blend', '')}",
                flush=True,
            )
    if "curve" in which:
        out["curve"] = []
        for n in (50, 100, 200, 400, None):
            res = run(data, CONFIGS["blend (default)"], n_train=n)
            res["labels"] = n or "all"
            out["curve"].append(
                {k: v for k, v in res.items() if k != "per_code"} | {"B2": res["per_code"]["B2"]}
            )
            print(
                f"curve {res['labels']}: pooled {res['pooled_kappa']:.3f} "
                f"B2 {res['per_code']['B2']['kappa']:.3f}",
                flush=True,
            )
    name = "seed_learning" if which != ["finetune"] else "seed_learning_finetune"
    _common.write_result(name, out)


if __name__ == "__main__":
    main(sys.argv[1:] or ["ablation", "curve"])
