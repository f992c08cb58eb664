"""Cluster sentences into themes: embed, reduce (truncated SVD), k-means, label with c-TF-IDF.

``ThemeModel`` follows the estimator conventions: the constructor stores settings, ``fit(texts,
venture_ids)`` does the work and sets ``themes_`` (largest reach first), ``labels_`` (theme index
per sentence, -1 = no theme) and ``k_``. With the same settings, texts and ``seed`` the result is
identical. No UMAP: SVD to ``dims`` dimensions and (MiniBatch) k-means scale to 100,000
sentences on 2 cores. ``n_themes=None`` takes ``k = sqrt(n / 2)`` clamped to [6, ``max_themes``]
(``n`` = distinct sentences): the silhouette score, tried first, always chose 4-6 broad
themes, too coarse to show what is new. Themes smaller than ``min_size`` sentences or
``min_ventures`` ventures are dropped (their sentences get -1).

Two strategies (``strategy``; ``"auto"`` takes ``"micro"`` above ``micro_threshold`` distinct
sentences, 50,000 by default, and ``"direct"`` up to it):

- ``direct``: embed every distinct sentence at once, SVD, k-means on the sentences, c-TF-IDF over
  all sentences of each theme.
- ``micro`` (micro-clustering, for up to millions of sentences): the sentences are embedded in
  batches of ``embed_batch`` and only their SVD projection (``dims`` float32 per sentence) is
  kept, the SVD being fitted on a seeded sample of ``svd_sample`` sentences; MiniBatch k-means
  (weighted by how often each sentence occurs) compresses them to ``n_micro`` micro-centroids
  (default ``min(max_micro, max(4 k, n / 20))``); the micro-centroids are clustered into ``k``
  themes, weighted by their mass (``theme_clusterer="kmeans"``, the k-means objective of the
  sentences up to a constant; or ``"ward"``, unweighted agglomerative); each sentence takes the
  theme of its micro-centroid, then up to ``refine`` Lloyd iterations over all sentences with
  the ``k`` theme centres (cheap: ``n x k``; at 10,000 sentences they bring the NPMI of the
  themes back to the direct path's, without them it is about 0.01 lower). c-TF-IDF is sparse and
  runs on at most ``ctfidf_sample`` sentences per theme (a seeded sample, reweighted so each
  theme's term counts stay unbiased); quotes are the sentences nearest the theme centre (the
  weighted mean of its sentences). Memory: ``n x dims`` floats plus one batch of embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from simap.discover.ctfidf import class_tfidf, top_terms
from simap.embed.base import Embedder, l2_normalize
from simap.errors import InvalidInput, NotFitted, expected

STRATEGIES = ("auto", "direct", "micro")
THEME_CLUSTERERS = ("kmeans", "ward")
MICRO_THRESHOLD = 50_000


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
        strategy: str = "auto",
        micro_threshold: int = MICRO_THRESHOLD,
        n_micro: int | None = None,
        max_micro: int = 2000,
        theme_clusterer: str = "kmeans",
        embed_batch: int = 50_000,
        svd_sample: int = 50_000,
        ctfidf_sample: int = 10_000,
        refine: int = 10,
    ) -> None:
        if strategy not in STRATEGIES:
            raise InvalidInput(
                expected("strategy", "one of " + ", ".join(STRATEGIES), strategy), field="strategy"
            )
        if theme_clusterer not in THEME_CLUSTERERS:
            raise InvalidInput(
                expected("theme_clusterer", "one of " + ", ".join(THEME_CLUSTERERS), theme_clusterer),
                field="theme_clusterer",
            )
        for name, value in (
            ("micro_threshold", micro_threshold),
            ("max_micro", max_micro),
            ("embed_batch", embed_batch),
            ("svd_sample", svd_sample),
            ("ctfidf_sample", ctfidf_sample),
            ("n_micro", 1 if n_micro is None else n_micro),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidInput(expected(name, "a positive integer", value), field=name)
        if not isinstance(refine, int) or isinstance(refine, bool) or refine < 0:
            raise InvalidInput(expected("refine", "an integer >= 0", refine), field="refine")
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
        self.strategy = strategy
        self.micro_threshold = micro_threshold
        self.n_micro = n_micro
        self.max_micro = max_micro
        self.theme_clusterer = theme_clusterer
        self.embed_batch = embed_batch
        self.svd_sample = svd_sample
        self.ctfidf_sample = ctfidf_sample
        self.refine = refine

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
            "strategy": self.strategy,
            "micro_threshold": self.micro_threshold,
            "n_micro": self.n_micro,
            "max_micro": self.max_micro,
            "theme_clusterer": self.theme_clusterer,
            "embed_batch": self.embed_batch,
            "svd_sample": self.svd_sample,
            "ctfidf_sample": self.ctfidf_sample,
            "refine": self.refine,
        }

    def resolve_strategy(self, n_unique: int) -> str:
        """``"direct"`` or ``"micro"`` for ``n_unique`` distinct sentences."""
        if self.strategy != "auto":
            return self.strategy
        return "micro" if n_unique > self.micro_threshold else "direct"

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

    # -- micro-clustering steps --------------------------------------------------------------
    def _embed_reduced(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` in batches and keep only their SVD projection (fitted on a sample)."""
        from sklearn.decomposition import TruncatedSVD

        n = len(texts)
        rng = np.random.default_rng(self.seed)
        if n <= self.svd_sample:
            sample_idx = np.arange(n)
        else:
            sample_idx = np.sort(rng.choice(n, size=self.svd_sample, replace=False))
        sample = self.embedder.embed([texts[i] for i in sample_idx])
        dense_dim = sample.shape[1]
        svd: Any = None
        if not (dense_dim <= self.dims and not hasattr(sample, "toarray")):
            k = max(2, min(self.dims, dense_dim - 1, len(sample_idx) - 1))
            svd = TruncatedSVD(n_components=k, random_state=self.seed, algorithm="randomized", n_iter=4)
            svd.fit(sample)

        def project(emb: Any) -> np.ndarray:
            return l2_normalize(_dense(emb) if svd is None else svd.transform(emb).astype(np.float32))

        if len(sample_idx) == n:
            return project(sample)
        del sample
        out: np.ndarray | None = None
        for start in range(0, n, self.embed_batch):
            part = project(self.embedder.embed(texts[start : start + self.embed_batch]))
            if out is None:
                out = np.empty((n, part.shape[1]), dtype=np.float32)
            out[start : start + len(part)] = part
        assert out is not None
        return out

    def _micro_kmeans(self, x: np.ndarray, k: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Theme per sentence, theme centres (normalised) and the number of micro-centroids."""
        from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans

        n = len(x)
        m = self.n_micro if self.n_micro is not None else min(self.max_micro, max(4 * k, n // 20))
        m = max(k, min(m, n))
        km = MiniBatchKMeans(
            n_clusters=m,
            random_state=self.seed,
            n_init=1,
            batch_size=8192,
            init_size=min(n, max(3 * m, 10_000)),
            max_iter=5,
            max_no_improvement=3,
            reassignment_ratio=0.0,
        )
        km.fit(x, sample_weight=weights)
        micro = np.asarray(km.labels_, dtype=np.int64)
        mass = np.bincount(micro, weights=weights, minlength=m)
        used = np.flatnonzero(mass > 0)
        cents = np.asarray(km.cluster_centers_, dtype=np.float32)[used]
        k = min(k, len(used))
        if self.theme_clusterer == "ward" and k > 1:
            theme_of_used = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(cents)
        else:
            theme_of_used = KMeans(n_clusters=k, random_state=self.seed, n_init=4).fit_predict(
                cents, sample_weight=mass[used]
            )
        theme_of_micro = np.zeros(m, dtype=np.int64)
        theme_of_micro[used] = theme_of_used
        labels = theme_of_micro[micro]
        centers = np.zeros((k, cents.shape[1]), dtype=np.float64)
        np.add.at(centers, theme_of_used, cents * mass[used][:, None])
        for _ in range(self.refine):
            centers = centers / np.maximum(np.bincount(labels, weights=weights, minlength=k), 1e-12)[:, None]
            new = self._nearest(x, centers.astype(np.float32))
            if np.array_equal(new, labels):
                break
            labels = new
            member = sparse.csr_matrix(
                (weights.astype(np.float64), (labels, np.arange(len(x)))), shape=(k, len(x))
            )
            sums = np.asarray(member @ x, dtype=np.float64)
            filled = np.bincount(labels, minlength=k) > 0
            centers = np.where(filled[:, None], sums, centers)
        return labels, l2_normalize(centers.astype(np.float32)), len(used)

    @staticmethod
    def _nearest(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
        """Index of the nearest centre (Euclidean) of every row, in chunks."""
        sq = np.einsum("ij,ij->i", centers, centers)
        out = np.empty(len(x), dtype=np.int64)
        for start in range(0, len(x), 100_000):
            part = x[start : start + 100_000]
            out[start : start + len(part)] = np.argmin(sq - 2.0 * (part @ centers.T), axis=1)
        return out

    def _ctfidf_sample(
        self, labels_u: np.ndarray, kept: list[int], weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distinct-sentence indices (sorted) and their weights: at most ``ctfidf_sample`` per
        kept theme, reweighted so each theme keeps its total weight."""
        rng = np.random.default_rng(self.seed + 1)
        idx: list[np.ndarray] = []
        wts: list[np.ndarray] = []
        for c in kept:
            members = np.flatnonzero(labels_u == c)
            if len(members) > self.ctfidf_sample:
                sub = np.sort(rng.choice(members, size=self.ctfidf_sample, replace=False))
            else:
                sub = members
            scale = float(weights[members].sum()) / max(float(weights[sub].sum()), 1e-12)
            idx.append(sub)
            wts.append(weights[sub] * scale)
        if not idx:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        order_idx = np.concatenate(idx)
        order = np.argsort(order_idx, kind="stable")
        return order_idx[order], np.concatenate(wts)[order].astype(np.float32)

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
            first = np.unique(inverse, return_index=True)[1].astype(np.int64)
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
        self.strategy_ = self.resolve_strategy(len(first))
        self.n_micro_ = 0
        if self.strategy_ == "micro":
            x = self._embed_reduced(unique_texts)
            k = self._choose_k(len(x))
            labels_u, centers, self.n_micro_ = self._micro_kmeans(x, k, weights)
            k = len(centers)
        else:
            x = self._reduce(self.embedder.embed(unique_texts))
            k = self._choose_k(len(x))
            labels_u, centers = self._kmeans(x, k, weights)
            centers = l2_normalize(centers)
        sim = np.einsum("ij,ij->i", x, centers[labels_u])
        del x
        labels = labels_u[inverse]
        self.k_ = k
        vcodes = np.asarray(pd.factorize(vids)[0], dtype=np.int64)
        n_vids = int(vcodes.max()) + 1
        n_ventures = np.bincount(np.unique(labels * n_vids + vcodes) // n_vids, minlength=k)
        sizes = np.bincount(labels, minlength=k)
        kept = [c for c in range(k) if sizes[c] >= self.min_size and n_ventures[c] >= self.min_ventures]
        if self.strategy_ == "micro":
            sub, sub_weights = self._ctfidf_sample(labels_u, kept, weights)
            scores, terms, classes = class_tfidf(
                [unique_texts[i] for i in sub],
                labels_u[sub],
                ngram_range=self.ngram_range,
                weights=sub_weights,
            )
        else:
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
        lut = np.full(k, -1, dtype=np.int64)
        for c, i in mapping.items():
            lut[c] = i
        self.labels_ = lut[labels]
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
