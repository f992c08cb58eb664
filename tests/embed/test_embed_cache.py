"""The embedding cache and embed_cached (fast; uses the fake and tfidf embedders)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from scipy import sparse

from simap.embed import EmbeddingCache, FakeEmbedder, MemoryCache, TfidfEmbedder, embed_cached, text_hash
from simap.errors import InvalidInput, SimapError


class Counting(FakeEmbedder):
    """FakeEmbedder that records every batch it is asked to embed."""

    def __init__(self, **params: int) -> None:
        super().__init__(**params)
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super().embed(texts)


def test_text_hash_is_sha1_hex() -> None:
    assert text_hash("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert text_hash("é") != text_hash("e")


def test_memory_cache_is_an_embedding_cache() -> None:
    assert isinstance(MemoryCache(), EmbeddingCache)


def test_embed_cached_embeds_each_distinct_text_once_and_keeps_order() -> None:
    emb, cache = Counting(), MemoryCache()
    texts = ["b text", "a text", "b text", "c text", "a text"]
    out = embed_cached(emb, texts, cache)
    assert emb.calls == [["b text", "a text", "c text"]]
    assert out.dtype == np.float32
    assert np.array_equal(out, FakeEmbedder().embed(texts))
    assert len(cache) == 3

    again = embed_cached(emb, list(reversed(texts)), cache)
    assert len(emb.calls) == 1, "everything was cached"
    assert np.array_equal(again, out[::-1])


def test_embed_cached_embeds_only_the_missing_texts() -> None:
    emb, cache = Counting(), MemoryCache()
    embed_cached(emb, ["one", "two"], cache)
    out = embed_cached(emb, ["two", "three", "one", "three"], cache)
    assert emb.calls[-1] == ["three"]
    assert np.array_equal(out, FakeEmbedder().embed(["two", "three", "one", "three"]))


def test_cache_entries_are_scoped_by_model_key() -> None:
    cache = MemoryCache()
    small, big = Counting(dim=8), Counting(dim=16)
    embed_cached(small, ["same text"], cache)
    out = embed_cached(big, ["same text"], cache)
    assert big.calls == [["same text"]]
    assert out.shape == (1, 16)
    assert len(cache) == 2


def test_non_cacheable_embedder_bypasses_the_cache() -> None:
    cache = MemoryCache()
    emb = TfidfEmbedder().fit(["solar pumps", "mobile money"])
    out = embed_cached(emb, ["solar pumps"], cache)
    assert sparse.issparse(out)
    assert len(cache) == 0


def test_empty_batch_and_single_string() -> None:
    assert embed_cached(FakeEmbedder(), [], MemoryCache()).shape == (0, 64)
    with pytest.raises(InvalidInput):
        embed_cached(FakeEmbedder(), "not a list", MemoryCache())  # type: ignore[arg-type]


def test_memory_cache_returns_copies() -> None:
    cache = MemoryCache()
    cache.put_many("k", {"h": np.ones(3, dtype=np.float32)})
    got = cache.get_many("k", ["h", "absent"])
    assert list(got) == ["h"]
    got["h"][:] = 0
    assert cache.get_many("k", ["h"])["h"].sum() == 3


def test_memory_cache_bound_drops_oldest() -> None:
    cache = MemoryCache(max_items=2)
    for i in range(3):
        cache.put_many("k", {str(i): np.full(2, i, dtype=np.float32)})
    assert set(cache.get_many("k", ["0", "1", "2"])) == {"1", "2"}


def test_inconsistent_cached_dimensions_are_an_error() -> None:
    emb, cache = FakeEmbedder(), MemoryCache()
    cache.put_many(emb.key, {text_hash("poisoned"): np.ones(5, dtype=np.float32)})
    with pytest.raises(SimapError, match="different shapes"):
        embed_cached(emb, ["poisoned", "fresh"], cache)


def test_cacheable_embedder_returning_sparse_is_an_error() -> None:
    class SparseButCacheable(FakeEmbedder):
        def embed(self, texts: Sequence[str]) -> sparse.csr_matrix:  # type: ignore[override]
            return sparse.csr_matrix(super().embed(texts))

    with pytest.raises(SimapError, match="cacheable = False"):
        embed_cached(SparseButCacheable(), ["x"], MemoryCache())
