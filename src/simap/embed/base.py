"""The Embedder contract.

An embedder turns a batch of texts into L2-normalised row vectors (dense ``numpy`` array of
``float32``, shape ``(len(texts), dim)``, or a ``scipy.sparse`` CSR matrix for lexical
backends). ``fit(corpus)`` lets corpus-dependent backends (TF-IDF) learn a vocabulary; for
pretrained models it is a no-op that returns ``self``.

``key`` identifies the model and its parameters: it is stored with every machine suggestion and
used, together with the SHA-1 of the text, as the key of the embedding cache. A backend whose
vectors depend on the fitted corpus sets ``cacheable = False``. ``cache_worthy`` says whether
looking vectors up beats computing them again; the pipeline caches only those, on disk
(:class:`~simap.embed.parquet_cache.ParquetEmbeddingCache`). True for MiniLM and for static
embeddings (a disk lookup is ~15x faster than static embedding at 100k sentences, measured in
docs/benchmarks.md), false for the fake test embedder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
from scipy import sparse

Matrix: TypeAlias = np.ndarray | sparse.csr_matrix


@runtime_checkable
class Embedder(Protocol):
    name: str
    cacheable: bool

    @property
    def key(self) -> str: ...

    def get_params(self) -> dict[str, Any]: ...

    def fit(self, corpus: Sequence[str]) -> Embedder: ...

    def embed(self, texts: Sequence[str]) -> Matrix: ...


def l2_normalize(mat: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (mat / norms).astype(np.float32, copy=False)
