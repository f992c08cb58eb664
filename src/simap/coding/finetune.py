"""Fine-tune the sentence model on the project's labels, on the CPU (``simap train --finetune``).

The packaged all-MiniLM-L6-v2 (or ``base``) is trained end to end as a multi-label classifier of
whole venture texts: a linear head over the sentence embedding, binary cross-entropy per code
(positives weighted ``positive_weight``, venture x code pairs without a decision masked out),
``epochs`` passes, AdamW with ``lr`` for the encoder and ``head_lr`` for the head. The head is
then dropped and the encoder saved to a folder, used like any local model
(``get_embedder("minilm", model=<folder>)``): the learning coder fits a logistic regression per
code on its vectors (SetFit's head) and lets it take ``tuned_weight`` of the blend's score
(:class:`simap.coding.supervised.SupervisedCoder`, ``tuned_embedder``).

Measured (``python bench/seed_learning.py finetune``, grouped 5-fold CV over 567 coded
ventures, docs/benchmarks.md): the blend plus a quarter of the fine-tuned heads scores pooled
kappa 0.520 against 0.477, paired bootstrap gain +0.043 [0.015, 0.072], at about 90 s of
training per fold on 2 cores. The earlier SetFit-style variant, contrastive pairs of evidence quotes and
rejected ventures' sentences, lowered kappa (0.452) and is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simap.errors import BackendUnavailable, InvalidInput


def finetune_classifier(
    texts: Sequence[str],
    targets: np.ndarray,
    out_dir: str | Path,
    *,
    base: str | None = None,
    epochs: int = 4,
    batch_size: int = 16,
    lr: float = 5e-5,
    head_lr: float = 3e-3,
    positive_weight: float = 3.0,
    min_positives: int = 20,
    seed: int = 0,
    progress: Any = None,
) -> Path:
    """Fine-tune ``base`` on ``texts`` and ``targets`` ((n, n_codes): 1 yes, 0 no, -1 unknown) and
    save the encoder to ``out_dir``; deterministic for a given ``seed`` on one machine.
    ``progress(stage, done, total)`` is called after each batch (stage ``"fine-tune"``)."""
    y = np.asarray(targets)
    if y.ndim != 2 or len(y) != len(texts):
        raise InvalidInput(
            f"targets must be (n_texts, n_codes) = ({len(texts)}, k); got shape {y.shape}.",
            field="targets",
            hint="one row of 1 / 0 / -1 per venture text",
        )
    positives = int((y == 1).sum())
    if positives < min_positives:
        raise InvalidInput(
            f"fine-tuning the sentence model needs at least {min_positives} accepted codes; got {positives}.",
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
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    head = torch.nn.Linear(int(getter()), y.shape[1])
    optimizer = torch.optim.AdamW(
        [{"params": model.parameters(), "lr": lr}, {"params": head.parameters(), "lr": head_lr}]
    )
    target = torch.tensor(np.clip(y, 0, 1), dtype=torch.float32)
    mask = torch.tensor(y >= 0, dtype=torch.float32)
    pos_weight = torch.full((y.shape[1],), float(positive_weight))
    encode_inputs = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
    rng = np.random.default_rng(seed)
    items = [str(t) for t in texts]
    n_batches = -(-len(items) // batch_size)
    done = 0
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(items))
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            emb = model(encode_inputs([items[i] for i in idx]))["sentence_embedding"]
            # x20: the embedding is unit-length, so a plain linear head would barely move
            logits = head(emb * 20)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, target[idx], weight=mask[idx], pos_weight=pos_weight, reduction="sum"
            ) / mask[idx].sum().clamp(min=1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if progress is not None:
                progress("fine-tune", done, epochs * n_batches)
    model.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        model.save(str(out))
    return out
