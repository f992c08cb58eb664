"""The embedding cache: vectors keyed by (embedder ``key``, SHA-1 of the text).

:class:`EmbeddingCache` is the Protocol any store implements (``MemoryCache`` here; the database
one lives in ``simap.store``). :func:`embed_cached` embeds only what the cache lacks, each distinct
text once, and returns rows in the order of the input. Embedders with ``cacheable = False``
(TF-IDF, whose vectors depend on the fitted corpus) bypass the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import sparse

from simap.embed._common import check_texts
from simap.embed.base import Embedder, Matrix
from simap.errors import SimapError


def text_hash(text: str) -> str:
    """SHA-1 hex digest of the UTF-8 text (exactly as given; no normalisation)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@runtime_checkable
class EmbeddingCache(Protocol):
    def get_many(self, model_key: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors found for ``hashes`` under ``model_key``; absent hashes are simply missing."""
        ...

    def put_many(self, model_key: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors by text hash under ``model_key`` (overwriting is allowed)."""
        ...


class MemoryCache:
    """An in-process :class:`EmbeddingCache` (a dict); optionally bounded, oldest dropped first."""

    def __init__(self, max_items: int | None = None) -> None:
        if max_items is not None and (
            isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1
        ):
            raise SimapError(f"MemoryCache max_items must be a positive integer or None; got {max_items!r}.")
        self.max_items = max_items
        self._data: dict[tuple[str, str], np.ndarray] = {}

    def get_many(self, model_key: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for h in hashes:
            vec = self._data.get((model_key, h))
            if vec is not None:
                out[h] = vec.copy()
        return out

    def put_many(self, model_key: str, items: dict[str, np.ndarray]) -> None:
        for h, vec in items.items():
            self._data.pop((model_key, h), None)
            self._data[(model_key, h)] = np.array(vec, dtype=np.float32, copy=True)
        if self.max_items is not None:
            while len(self._data) > self.max_items:
                del self._data[next(iter(self._data))]

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"MemoryCache({len(self)} vectors)"


def embed_cached(embedder: Embedder, texts: Sequence[str], cache: EmbeddingCache) -> Matrix:
    """Embed ``texts`` with ``embedder``, reusing and filling ``cache``; rows follow ``texts``.

    Only texts whose (``embedder.key``, SHA-1) is not cached are embedded, each distinct text once
    per call. For ``cacheable = False`` embedders this is just ``embedder.embed(texts)``.
    """
    if not embedder.cacheable:
        return embedder.embed(texts)
    items = check_texts(texts, backend=getattr(embedder, "name", type(embedder).__name__))
    if not items:
        return embedder.embed(items)
    model_key = embedder.key
    hashes = [text_hash(t) for t in items]
    first_text: dict[str, str] = {}
    for h, t in zip(hashes, items, strict=True):
        first_text.setdefault(h, t)
    unique = list(first_text)
    found = cache.get_many(model_key, unique)
    missing = [h for h in unique if h not in found]
    if missing:
        fresh = embedder.embed([first_text[h] for h in missing])
        if sparse.issparse(fresh):
            raise SimapError(
                f"embedder {model_key!r} is marked cacheable but returned a sparse matrix; "
                "the cache stores dense vectors.",
                hint="set cacheable = False on sparse (lexical) embedders, or return a dense float32 array.",
            )
        fresh = np.asarray(fresh, dtype=np.float32)
        if fresh.ndim != 2 or fresh.shape[0] != len(missing):
            raise SimapError(
                f"embedder {model_key!r} returned shape {fresh.shape} for {len(missing)} texts; "
                f"expected ({len(missing)}, dim).",
                hint="an embedder must return one row per input text.",
            )
        new = {h: fresh[i] for i, h in enumerate(missing)}
        cache.put_many(model_key, new)
        found.update(new)
    dims = {np.shape(v)[-1] if np.ndim(v) else 0 for v in (found[h] for h in unique)}
    if len(dims) != 1 or any(np.ndim(found[h]) != 1 for h in unique):
        raise SimapError(
            f"the embedding cache holds vectors of different shapes under {model_key!r} "
            f"(dims {sorted(dims)}).",
            hint="the cache is stale or two models share a key: clear the cache entries for this key.",
        )
    out = np.empty((len(items), dims.pop()), dtype=np.float32)
    for row, h in enumerate(hashes):
        out[row] = found[h]
    return out
