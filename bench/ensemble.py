"""The ensemble coder against the learned coder alone (issue 11 item 4), where an LLM is configured.

Same grouped 5-fold protocol as bench/seed_learning.py over the ~570 coded DPG ventures: per fold
the learned coder (default: blend) is trained on the training folds; the LLM coder (endpoint and
model from SIMAP_LLM_BASE_URL / SIMAP_LLM_MODEL / SIMAP_LLM_API_KEY, answers cached under
bench/out/llm-cache) codes the held-out fold; reported: the learned coder alone, the LLM alone,
and the two ensemble modes (gate: disagreements count as absent, their share reported; stack:
logistic regression on the learned coder's out-of-fold scores and the LLM's verdict).

    SIMAP_LLM_BASE_URL=http://127.0.0.1:11434/v1 SIMAP_LLM_MODEL=qwen2.5:7b \
        python bench/ensemble.py [--limit N]

Without an endpoint it says so and exits (the learned coder alone is benched by seed_learning.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np
import pandas as pd

import _common
import seed_learning as sl
from simap.coding.ensemble import EnsembleCoder
from simap.coding.llm import LLMCoder
from simap.coding.supervised import SupervisedCoder
from simap.embed import get_embedder
from simap.embed.cache import MemoryCache


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="code at most N held-out ventures per fold")
    args = ap.parse_args()
    if not os.environ.get("SIMAP_LLM_BASE_URL") or not os.environ.get("SIMAP_LLM_MODEL"):
        sys.exit("skipped: set SIMAP_LLM_BASE_URL and SIMAP_LLM_MODEL to an OpenAI-compatible endpoint")
    data = sl.load()
    book, seg, labels, ids, y = data["book"], data["seg"], data["labels"], data["ids"], data["y"]
    codes = book.ids()
    emb, cache = get_embedder(sl.BACKEND), MemoryCache()
    llm = LLMCoder(
        base_url=os.environ["SIMAP_LLM_BASE_URL"],
        model=os.environ["SIMAP_LLM_MODEL"],
        api_key=os.environ.get("SIMAP_LLM_API_KEY"),
        cache_dir=str(_common.OUT / "llm-cache"),
    ).fit(book)
    preds: dict[str, np.ndarray] = {
        k: np.zeros(y.shape, np.int8) for k in ("learned", "llm", "gate", "stack")
    }
    seen = np.zeros(len(ids), bool)
    abstained = 0
    # the LLM reads each venture's whole text once
    docs = (
        seg.groupby("venture_id", sort=False)["text"]
        .apply(lambda t: " ".join(dict.fromkeys(map(str, t))))
        .reset_index()
        .assign(field="description")[["venture_id", "field", "text"]]
    )
    for tr, te in sl.folds(data):
        if args.limit:
            te = te[: args.limit]
        train_ids = {ids[i] for i in tr}
        test_ids = [ids[i] for i in te]
        learned = SupervisedCoder(emb, cache=cache).fit(
            book,
            segments=seg[seg["venture_id"].isin(train_ids)],
            labels=labels[labels["venture_id"].isin(train_ids)],
        )
        test_seg = seg[seg["venture_id"].isin(set(test_ids))]
        test_docs = docs[docs["venture_id"].isin(set(test_ids))]
        outs: dict[str, pd.DataFrame] = {}
        for mode in ("gate", "stack"):
            ens = EnsembleCoder(learned, llm, mode=mode)
            ens.code_ids_ = codes
            if mode == "stack":  # fitted on the learned coder's out-of-fold scores of the training folds
                ens.store = None
                train_docs = docs[docs["venture_id"].isin(train_ids)]
                verdict = llm.predict(seg[seg["venture_id"].isin(train_ids)], documents=train_docs)
                piv = verdict.pivot(index="venture_id", columns="code_id", values="raw")
                _fit_stack_from(ens, piv.reindex(index=learned.labelled_ids_))
            outs[mode] = ens.predict(test_seg, documents=test_docs)
        outs["learned"] = learned.predict(test_seg)
        outs["llm"] = llm.predict(test_seg, documents=test_docs)
        abstained += int((outs["gate"]["status"] == "abstained").sum())
        for name, out in outs.items():
            present = out["score"] >= 0.5
            if "status" in out:
                present &= out["status"] != "abstained"
            piv = out.assign(p=present).pivot(index="venture_id", columns="code_id", values="p")
            preds[name][te] = piv.reindex(index=test_ids, columns=codes).fillna(False).to_numpy()
        seen[te] = True
    res: dict[str, Any] = {"model": os.environ["SIMAP_LLM_MODEL"], "ventures": int(seen.sum())}
    for name, p in preds.items():
        res[name] = {
            "pooled_kappa": round(sl.kappa(y[seen], p[seen]), 3),
            "B2_kappa": round(sl.kappa(y[seen, codes.index("B2")], p[seen, codes.index("B2")]), 3),
        }
        print(f"{name:8s} pooled {res[name]['pooled_kappa']:.3f} B2 {res[name]['B2_kappa']:.3f}", flush=True)
    res["gate_abstained"] = abstained
    _common.write_result("ensemble", res)


def _fit_stack_from(ens: EnsembleCoder, verdict: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression

    from simap.coding.ensemble import _logit

    oof, targets = ens.learned.oof_scores_, ens.learned.oof_targets_
    for j, code in enumerate(ens.learned.code_ids_):
        known = targets[:, j] >= 0
        yj = targets[known, j] == 1
        if code not in verdict.columns or yj.sum() < ens.min_positives or (~yj).sum() < ens.min_positives:
            continue
        x = np.c_[_logit(oof[known, j]), verdict[code].fillna(0.0).to_numpy()[known]]
        m = LogisticRegression(class_weight="balanced").fit(x, yj)
        ens.stack_[code] = (float(m.coef_[0, 0]), float(m.coef_[0, 1]), float(m.intercept_[0]))


if __name__ == "__main__":
    main()
