"""Is a fine-tuned transformer worth it for NTEE on 2 cores? (issue 3, an exploration)

Fine-tunes the packaged all-MiniLM-L6-v2 end to end with a linear head (cross-entropy, label
smoothing 0.05, AdamW with one-cycle learning rates 5e-5 / 2e-3, batch 32, 128 tokens) on the
NTEE folds of ``learning.py`` (same seed), and reports accuracy and macro-F1 after each epoch.
Slow: about 13 minutes per epoch and fold on 2 cores, so it is not part of ``run_all.py``.

    python bench/ntee_finetune.py [FOLD] [EPOCHS]     # defaults: fold 0, 3 epochs
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

import _common


def main(fold: int = 0, epochs: int = 3) -> dict[str, object]:
    import torch
    from sentence_transformers import SentenceTransformer

    from simap.embed.models import packaged_minilm_path

    torch.manual_seed(0)
    torch.set_num_threads(2)
    seen: set[str] = set()
    records = []
    for line in _common.shared("ntee_4000.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        if r["id"] not in seen and r.get("ntee_major"):
            seen.add(r["id"])
            records.append(r)
    texts = [
        " ".join(dict.fromkeys([r["name"], r.get("mission") or "", r.get("program") or ""])) for r in records
    ]
    classes = sorted({r["ntee_major"] for r in records})
    y = np.array([classes.index(r["ntee_major"]) for r in records])
    order = np.random.default_rng(0).permutation(len(records))
    fold_of = np.empty(len(records), int)
    fold_of[order] = np.arange(len(records)) % 5
    train, test = np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)
    model = SentenceTransformer(str(packaged_minilm_path()), device="cpu")
    model.max_seq_length = 128
    head = torch.nn.Linear(model.get_sentence_embedding_dimension() or 384, len(classes))
    tokenize = getattr(model, "preprocess", None) or model.tokenize
    opt = torch.optim.AdamW(
        [{"params": model.parameters()}, {"params": head.parameters()}], lr=5e-5, weight_decay=0.01
    )
    steps = epochs * ((len(train) + 31) // 32)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[5e-5, 2e-3], total_steps=steps, pct_start=0.1)

    def predict(rows: np.ndarray) -> np.ndarray:
        model.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(rows), 64):
                feats = tokenize([texts[j] for j in rows[i : i + 64]])
                out.append(head(model(feats)["sentence_embedding"]).argmax(1).numpy())
        model.train()
        return np.concatenate(out)

    t0 = time.perf_counter()
    curve = []
    for epoch in range(epochs):
        perm = np.random.default_rng(epoch).permutation(train)
        for i in range(0, len(perm), 32):
            batch = perm[i : i + 32]
            emb = model(tokenize([texts[j] for j in batch]))["sentence_embedding"]
            loss = torch.nn.functional.cross_entropy(head(emb), torch.tensor(y[batch]), label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        p = predict(test)
        curve.append(
            {
                "epoch": epoch + 1,
                "accuracy": round(accuracy_score(y[test], p), 4),
                "macro_f1": round(f1_score(y[test], p, average="macro"), 4),
                "seconds": round(time.perf_counter() - t0),
            }
        )
        print(curve[-1], flush=True)
    result = {"fold": fold, "train": len(train), "test": len(test), "curve": curve}
    print(f"written {_common.write_result('ntee_finetune', result)}")
    return result


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
