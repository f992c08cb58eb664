"""Fine-tune the sentence model on the project's labels, on the CPU (SetFit-style, contrastive).

Pairs are built per code from what analysts decided: two positives of the same code (evidence of
accepted codes, and the code's example sentences) should embed close together (target cosine
1); a positive and a negative of that code (a sentence of a venture where the code was rejected,
or a counter example) should not (target 0). The sentence-transformers model (MiniLM by
default) is trained with a cosine-similarity loss in a plain PyTorch loop (no extra training
dependencies), saved to a folder, and then used like any local model:
``get_embedder("minilm", model=<folder>)``. Only worth it "when enough labels exist": the
pipeline asks for ``min_positives`` accepted codes first.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pandas as pd

from simap.codebook.schema import Codebook
from simap.errors import BackendUnavailable, InvalidInput


def contrastive_pairs(
    codebook: Codebook, segments: pd.DataFrame, labels: pd.DataFrame, *, max_pairs: int = 2000, seed: int = 0
) -> list[tuple[str, str, float]]:
    """(text_a, text_b, target cosine) pairs from the codebook and the labels, balanced per code."""
    rng = random.Random(seed)
    seg_by = {v: [str(t) for t in g["text"]] for v, g in segments.groupby("venture_id")}
    pairs: list[tuple[str, str, float]] = []
    codes = codebook.active_codes
    per_code = max(4, max_pairs // max(1, len(codes)))
    for code in codes:
        lab = labels[labels["code_id"] == code.id]
        pos = [
            str(e.get("phrase", {}).get("text") or e.get("text"))
            for ev in lab.loc[lab["status"] == "accepted", "evidence"]
            for e in (ev or [])
            if isinstance(e, dict) and (e.get("text") or e.get("phrase"))
        ]
        neg = [t for v in lab.loc[lab["status"] == "rejected", "venture_id"] for t in seg_by.get(v, [])]
        pos_all = pos + list(code.examples)
        neg_all = neg + list(code.counter_examples)
        if len(pos_all) < 2 or not neg_all:
            continue
        for _ in range(per_code // 2):
            a, b = rng.sample(pos_all, 2)
            pairs.append((a, b, 1.0))
            pairs.append((rng.choice(pos_all), rng.choice(neg_all), 0.0))
    rng.shuffle(pairs)
    return pairs


def finetune_sentence_model(
    codebook: Codebook,
    segments: pd.DataFrame,
    labels: pd.DataFrame,
    out_dir: str | Path,
    *,
    base: str | None = None,
    epochs: int = 1,
    batch_size: int = 16,
    lr: float = 2e-5,
    max_pairs: int = 2000,
    min_positives: int = 20,
    seed: int = 0,
) -> Path:
    """Fine-tune ``base`` (default: the packaged all-MiniLM-L6-v2) and save it to ``out_dir``."""
    accepted = int((labels["status"] == "accepted").sum()) if len(labels) else 0
    if accepted < min_positives:
        raise InvalidInput(
            f"fine-tuning the sentence model needs at least {min_positives} accepted codes; got {accepted}.",
            field="finetune",
            hint="review more ventures first, or train without --finetune",
        )
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise BackendUnavailable(
            f"fine-tuning needs PyTorch and sentence-transformers ({exc.name} is missing).",
            hint="pip install 'simap[minilm]'",
        ) from None
    from simap.embed._common import quiet_transformers
    from simap.embed.models import packaged_minilm_path

    torch.manual_seed(seed)
    with quiet_transformers():
        model: Any = SentenceTransformer(str(base or packaged_minilm_path()), device="cpu")
    pairs = contrastive_pairs(codebook, segments, labels, max_pairs=max_pairs, seed=seed)
    if not pairs:
        raise InvalidInput(
            "no training pairs could be built from the labels.",
            field="labels",
            hint="accept codes with evidence and reject others",
        )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss()
    encode_inputs = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
    model.train()
    for _ in range(epochs):
        for i in range(0, len(pairs), batch_size):
            batch = pairs[i : i + batch_size]
            a = encode_inputs([p[0] for p in batch])
            b = encode_inputs([p[1] for p in batch])
            ea = model(a)["sentence_embedding"]
            eb = model(b)["sentence_embedding"]
            cos = torch.nn.functional.cosine_similarity(ea, eb)
            loss = loss_fn(cos, torch.tensor([p[2] for p in batch], dtype=cos.dtype))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        model.save(str(out))
    return out
