"""``tfidf``: scikit-learn TF-IDF over word 1-2 grams, as L2-normalised sparse rows.

Sublinear term frequency, English stop words removed, accents stripped. ``fit(corpus)`` learns
the vocabulary and IDF weights; ``embed`` before any ``fit`` fits on the texts it is given. The
vectors depend on the fitted corpus, so ``cacheable`` is False and ``key`` ends with a
fingerprint of the fitted vocabulary (``unfitted`` before ``fit``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from simap.embed._common import check_bool, check_int, check_texts, param_signature
from simap.embed._registry import embedders
from simap.errors import InvalidInput, NotFitted, expected


class TfidfEmbedder:
    """TF-IDF (scikit-learn): sublinear tf, word 1-2 grams, English stop words; sparse, fitted per corpus."""

    name: str = "tfidf"
    cacheable: bool = False

    def __init__(
        self,
        *,
        ngram_range: Sequence[int] = (1, 2),
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        max_features: int | None = None,
        stop_words: str | None = "english",
        sublinear_tf: bool = True,
    ) -> None:
        ngrams = list(ngram_range) if isinstance(ngram_range, list | tuple) else None
        if (
            ngrams is None
            or len(ngrams) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in ngrams)
            or not 1 <= ngrams[0] <= ngrams[1]
        ):
            raise InvalidInput(
                expected(
                    "parameter 'ngram_range' of the 'tfidf' embedder",
                    "two integers [low, high] with 1 <= low <= high",
                    ngram_range,
                ),
                field="ngram_range",
                hint="pass ngram_range=[1, 2] for words and word pairs.",
            )
        for pname, value in (("min_df", min_df), ("max_df", max_df)):
            ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 1) or (
                isinstance(value, float) and 0.0 <= value <= 1.0
            )
            if not ok:
                raise InvalidInput(
                    expected(
                        f"parameter {pname!r} of the 'tfidf' embedder",
                        "a document count >= 1 (int) or a proportion in [0.0, 1.0] (float)",
                        value,
                    ),
                    field=pname,
                    hint=f"pass e.g. {pname}={'1' if pname == 'min_df' else '1.0'}.",
                )
        check_int(max_features, name="max_features", backend=self.name, allow_none=True)
        if stop_words not in ("english", None):
            raise InvalidInput(
                expected("parameter 'stop_words' of the 'tfidf' embedder", "'english' or None", stop_words),
                field="stop_words",
                hint="pass stop_words='english' or stop_words=None.",
            )
        check_bool(sublinear_tf, name="sublinear_tf", backend=self.name)
        self.ngram_range = (ngrams[0], ngrams[1])
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.stop_words = stop_words
        self.sublinear_tf = sublinear_tf
        self._vectorizer: Any = None
        self._fingerprint: str | None = None

    # -- contract -------------------------------------------------------------------------------

    @property
    def key(self) -> str:
        return f"tfidf:{param_signature(self.get_params())}:{self._fingerprint or 'unfitted'}"

    def get_params(self) -> dict[str, Any]:
        return {
            "ngram_range": list(self.ngram_range),
            "min_df": self.min_df,
            "max_df": self.max_df,
            "max_features": self.max_features,
            "stop_words": self.stop_words,
            "sublinear_tf": self.sublinear_tf,
        }

    @property
    def fitted(self) -> bool:
        return self._vectorizer is not None

    @property
    def dim(self) -> int:
        """Vocabulary size (number of columns); raises :class:`NotFitted` before ``fit``."""
        if self._vectorizer is None:
            raise NotFitted(
                "the 'tfidf' embedder has no vocabulary yet, so it has no dimension.",
                hint="call fit(corpus) (or embed(texts), which fits on those texts) first.",
            )
        return len(self._vectorizer.vocabulary_)

    def fit(self, corpus: Sequence[str]) -> TfidfEmbedder:
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = check_texts(corpus, backend=self.name)
        if not docs:
            raise InvalidInput(
                expected("corpus given to tfidf fit()", "at least one text", "an empty list"),
                field="corpus",
                hint="fit on the texts you will embed (e.g. all venture descriptions).",
            )
        vectorizer = TfidfVectorizer(
            ngram_range=self.ngram_range,
            min_df=self.min_df,
            max_df=self.max_df,
            max_features=self.max_features,
            stop_words=self.stop_words,
            sublinear_tf=self.sublinear_tf,
            strip_accents="unicode",
            lowercase=True,
            norm="l2",
            dtype=np.float32,
        )
        try:
            vectorizer.fit(docs)
        except ValueError as exc:
            raise InvalidInput(
                f"cannot fit TF-IDF on a corpus of {len(docs)} text(s): {exc}",
                field="corpus",
                hint="give texts with real words (not only stop words or numbers), or relax min_df / max_df.",
            ) from exc
        self._vectorizer = vectorizer
        self._fingerprint = _fingerprint(vectorizer)
        return self

    def embed(self, texts: Sequence[str]) -> sparse.csr_matrix:
        items = check_texts(texts, backend=self.name)
        if self._vectorizer is None:
            if not items:
                return sparse.csr_matrix((0, 0), dtype=np.float32)
            self.fit(items)
        if not items:
            return sparse.csr_matrix((0, self.dim), dtype=np.float32)
        mat = self._vectorizer.transform(items)
        return sparse.csr_matrix(mat, dtype=np.float32)

    def __repr__(self) -> str:
        state = f"fitted, {self.dim} terms" if self.fitted else "unfitted"
        return f"TfidfEmbedder({param_signature(self.get_params())}; {state})"


def _fingerprint(vectorizer: Any) -> str:
    """SHA-1 (12 hex) of the fitted vocabulary in column order and its IDF weights."""
    h = hashlib.sha1()
    h.update("\0".join(vectorizer.get_feature_names_out().tolist()).encode("utf-8"))
    h.update(np.ascontiguousarray(vectorizer.idf_, dtype=np.float64).tobytes())
    return h.hexdigest()[:12]


embedders.register("tfidf")(TfidfEmbedder)
