"""Cluster sentences into themes: embed, reduce (truncated SVD), k-means, label with c-TF-IDF.

``ThemeModel`` follows the estimator conventions: the constructor stores settings, ``fit(texts,
venture_ids)`` does the work and sets ``themes_`` (largest reach first), ``labels_`` (theme index
per sentence, -1 = no theme) and ``k_``. With the same settings, texts and ``seed`` the result is
identical. No UMAP: SVD to ``dims`` dimensions and (MiniBatch) k-means scale to 100,000
sentences on 2 cores. ``n_themes=None`` takes ``k = sqrt(n / 2)`` clamped to [6, ``max_themes``]
(``n`` = distinct sentences): the silhouette score, tried first, always chose 4-6 broad
themes, too coarse to show what is new. Themes smaller than ``min_size`` sentences or
``min_ventures`` ventures are dropped (their sentences get -1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from simap.discover.ctfidf import class_tfidf, top_terms
from simap.embed.base import Embedder, l2_normalize
from simap.errors import InvalidInput, NotFitted, expected


@dataclass
class Theme:
    """One recurring theme: distinctive terms, representative quotes and its reach."""

    index: int
    label: str
    terms: list[str]
    size: int
    n_ventures: int
    cohesion: float
    quotes: list[dict[str, Any]] = field(default_factory=list)
    venture_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dense(mat: Any) -> np.ndarray:
    return np.asarray(mat.toarray() if hasattr(mat, "toarray") else mat, dtype=np.float32)


class ThemeModel:
    """Find recurring themes in sentences (see the module docstring)."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        n_themes: int | None = None,
        max_themes: int = 24,
        dims: int = 48,
        min_size: int = 5,
        min_ventures: int = 3,
        n_terms: int = 10,
        n_quotes: int = 3,
        ngram_range: tuple[int, int] = (1, 2),
        dedupe: bool = True,
        seed: int = 0,
    ) -> None:
        self.embedder = embedder
        self.n_themes = n_themes
        self.max_themes = max_themes
        self.dims = dims
        self.min_size = min_size
        self.min_ventures = min_ventures
        self.n_terms = n_terms
        self.n_quotes = n_quotes
        self.ngram_range = ngram_range
        self.dedupe = dedupe
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        return {
            "embedder": getattr(self.embedder, "key", type(self.embedder).__name__),
            "n_themes": self.n_themes,
            "max_themes": self.max_themes,
            "dims": self.dims,
            "min_size": self.min_size,
            "min_ventures": self.min_ventures,
            "n_terms": self.n_terms,
            "n_quotes": self.n_quotes,
            "ngram_range": list(self.ngram_range),
            "dedupe": self.dedupe,
            "seed": self.seed,
        }

    # -- steps ------------------------------------------------------------------------------
    def _reduce(self, x: Any) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD

        dense_dim = x.shape[1]
        if dense_dim <= self.dims and not hasattr(x, "toarray"):
            return l2_normalize(_dense(x))
        k = max(2, min(self.dims, dense_dim - 1, x.shape[0] - 1))
        svd = TruncatedSVD(n_components=k, random_state=self.seed, algorithm="randomized", n_iter=4)
        return l2_normalize(svd.fit_transform(x).astype(np.float32))

    def _kmeans(self, x: np.ndarray, k: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.cluster import KMeans, MiniBatchKMeans

        if len(x) > 20000:
            km: Any = MiniBatchKMeans(n_clusters=k, random_state=self.seed, n_init=3, batch_size=4096)
        else:
            km = KMeans(n_clusters=k, random_state=self.seed, n_init=4)
        labels = km.fit_predict(x, sample_weight=weights)
        return np.asarray(labels), np.asarray(km.cluster_centers_, dtype=np.float32)

    def _choose_k(self, n_unique: int) -> int:
        """``n_themes``, or ``sqrt(n / 2)`` clamped to [6, ``max_themes``] and to ``n / min_size``."""
        if self.n_themes is not None:
            return max(1, min(int(self.n_themes), n_unique))
        k = round(float(np.sqrt(n_unique / 2)))
        return max(1, min(max(k, 6), self.max_themes, n_unique // max(self.min_size, 1)))

    # -- fit --------------------------------------------------------------------------------
    def fit(
        self, texts: Sequence[str], venture_ids: Sequence[str], meta: Sequence[dict[str, Any]] | None = None
    ) -> ThemeModel:
        """Cluster ``texts`` (one per sentence; ``venture_ids`` says whose; ``meta`` is copied into
        each quote, e.g. ``{"venture_name", "field", "start", "end", "best_code", "best_score"}``)."""
        if len(texts) != len(venture_ids) or (meta is not None and len(meta) != len(texts)):
            raise InvalidInput(
                expected(
                    "texts, venture_ids and meta",
                    "sequences of the same length",
                    (len(texts), len(venture_ids), None if meta is None else len(meta)),
                ),
            )
        texts = [str(t) for t in texts]
        vids = np.asarray([str(v) for v in venture_ids], dtype=object)
        if self.dedupe:
            uniq: dict[str, int] = {}
            inverse = np.array([uniq.setdefault(t.strip().lower(), len(uniq)) for t in texts], dtype=np.int64)
            first = np.full(len(uniq), -1, dtype=np.int64)
            for i, u in enumerate(inverse):
                if first[u] < 0:
                    first[u] = i
        else:
            inverse = np.arange(len(texts))
            first = np.arange(len(texts))
        weights = np.bincount(inverse, minlength=len(first)).astype(np.float32)
        self.labels_ = np.full(len(texts), -1, dtype=np.int64)
        self.themes_: list[Theme] = []
        self.k_ = 0
        if len(first) < max(2, self.min_size):
            return self
        unique_texts = [texts[i] for i in first]
        x = self._reduce(self.embedder.embed(unique_texts))
        k = self._choose_k(len(x))
        labels_u, centers = self._kmeans(x, k, weights)
        centers = l2_normalize(centers)
        sim = np.einsum("ij,ij->i", x, centers[labels_u])
        labels = labels_u[inverse]
        self.k_ = k
        kept: list[int] = []
        for c in range(k):
            members = np.flatnonzero(labels == c)
            if len(members) >= self.min_size and len(set(vids[members].tolist())) >= self.min_ventures:
                kept.append(c)
        scores, terms, classes = class_tfidf(
            unique_texts,
            np.where(np.isin(labels_u, kept), labels_u, -1),
            ngram_range=self.ngram_range,
            weights=weights,
        )
        term_lists = dict(zip(classes, top_terms(scores, terms, self.n_terms), strict=True)) if terms else {}
        themes: list[tuple[int, Theme]] = []
        for c in kept:
            members = np.flatnonzero(labels == c)
            ventures = list(dict.fromkeys(vids[members].tolist()))
            words = term_lists.get(c, [])
            themes.append(
                (
                    c,
                    Theme(
                        index=-1,
                        label=", ".join(words[:3]) or f"theme {c}",
                        terms=words,
                        size=len(members),
                        n_ventures=len(ventures),
                        cohesion=float(np.average(sim[labels_u == c], weights=weights[labels_u == c])),
                        quotes=self._quotes(c, labels_u, sim, first, texts, vids, meta),
                        venture_ids=sorted(ventures),
                    ),
                )
            )
        themes.sort(key=lambda ct: (-ct[1].n_ventures, -ct[1].size, ct[1].label))
        mapping = {c: i for i, (c, _) in enumerate(themes)}
        for i, (_, theme) in enumerate(themes):
            theme.index = i
        self.labels_ = np.array([mapping.get(int(c), -1) for c in labels], dtype=np.int64)
        self.themes_ = [t for _, t in themes]
        return self

    def _quotes(
        self,
        c: int,
        labels_u: np.ndarray,
        sim: np.ndarray,
        first: np.ndarray,
        texts: list[str],
        vids: np.ndarray,
        meta: Sequence[dict[str, Any]] | None,
    ) -> list[dict[str, Any]]:
        """The sentences closest to the centre, one per venture."""
        members = np.flatnonzero(labels_u == c)
        order = members[np.lexsort((first[members], -sim[members]))]
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for u in order:
            i = int(first[u])
            if vids[i] in seen:
                continue
            seen.add(str(vids[i]))
            quote = {"text": texts[i], "venture_id": str(vids[i]), "similarity": round(float(sim[u]), 4)}
            if meta is not None:
                quote.update(meta[i])
            out.append(quote)
            if len(out) >= self.n_quotes:
                break
        return out

    def check_fitted(self) -> None:
        if not hasattr(self, "themes_"):
            raise NotFitted("ThemeModel must be fitted before use.", hint="call .fit(texts, venture_ids)")


__all__ = ["Theme", "ThemeModel"]
