"""Zero-shot coding from a codebook: a classifier trained on the codebook's own sentences.

No venture labels are used. For every active code, a class-weighted logistic regression is
fitted on sentence embeddings of the codebook itself: the code's definition, include rules and
example sentences are positives; the other codes' examples and the code's counter examples (near
misses) are negatives. Each sentence of a venture is scored as a whole and through its clauses
and short word windows (:mod:`simap.coding.units`), and the code's lexical cues add
``cue_weight`` to the decision value::

    z(unit, code)     = w_code . embed(unit) + b_code + cue_weight * [a cue of the code occurs]
    z(sentence, code) = max over the sentence's units
    z(venture, code)  = max over the venture's sentences    (its best sentences are the evidence)
    score             = sigmoid(z - threshold)

``threshold`` is the decision value at which a code counts as present (score 0.5). Its default
per embedding backend was chosen on the demo corpus that ships with simap
(``bench/calibrate_zeroshot.py``); the regularisation ``C`` per backend was picked from
{0.1, 0.3, 1} looking at the demo corpus and the development labels (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from simap.batches import SUGGESTION_COLUMNS
from simap.codebook.schema import Codebook
from simap.coding.cues import cue_hits, cue_pattern, unit_cue_hits
from simap.coding.units import unit_spans
from simap.embed.base import Embedder
from simap.embed.cache import EmbeddingCache, embed_cached
from simap.errors import InvalidInput, NotFitted

# Per embedding backend: regularisation C, and the decision value at which a code counts as
# present (chosen on the shipped demo corpus by bench/calibrate_zeroshot.py; re-run it after
# changing the built-in codebook).
BACKEND_DEFAULTS: dict[str, dict[str, float]] = {
    "static": {"C": 1.0, "threshold": 1.5},
    "minilm": {"C": 0.3, "threshold": 1.0},
    "tfidf": {"C": 1.0, "threshold": 0.0},
}
FALLBACK_DEFAULTS = {"C": 0.3, "threshold": 1.0}


def codebook_training_set(codes: list[Any]) -> tuple[list[str], np.ndarray]:
    """Texts of the codebook and their targets (n_texts, n_codes): 1 positive, 0 negative.

    A code's positives are its definition, include rules and examples; everything else (other
    codes' texts, its own and other codes' counter examples) is a negative for it.
    """
    texts: list[str] = []
    owner: list[int] = []  # j >= 0: positive of code j; -1: counter example
    for j, code in enumerate(codes):
        for t in code.anchor_texts():
            texts.append(t)
            owner.append(j)
        for t in code.counter_examples:
            texts.append(t)
            owner.append(-1)
    own = np.asarray(owner)
    targets = (own[:, None] == np.arange(len(codes))[None, :]).astype(np.int8)
    return texts, targets


def _dense(mat: Any) -> np.ndarray:
    if sparse.issparse(mat):
        return np.asarray(mat.toarray(), dtype=np.float32)
    return np.asarray(mat, dtype=np.float32)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)


class ZeroShotCoder:
    """Codes ventures against a codebook with no labelled ventures (see the module docstring)."""

    name = "zeroshot"

    def __init__(
        self,
        embedder: Embedder,
        *,
        units: str = "clauses",
        C: float | None = None,
        cue_weight: float = 1.0,
        threshold: float | None = None,
        evidence_k: int = 2,
        batch_size: int = 8192,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.embedder = embedder
        self.units = units
        self.C = C
        self.cue_weight = cue_weight
        self.threshold = threshold
        self.evidence_k = evidence_k
        self.batch_size = batch_size
        self.cache = cache

    # -- identity -------------------------------------------------------------------------
    def _default(self, param: str) -> float:
        return BACKEND_DEFAULTS.get(getattr(self.embedder, "name", ""), FALLBACK_DEFAULTS)[param]

    @property
    def threshold_(self) -> float:
        return float(self.threshold) if self.threshold is not None else self._default("threshold")

    @property
    def C_(self) -> float:
        return float(self.C) if self.C is not None else self._default("C")

    def get_params(self) -> dict[str, Any]:
        return {
            "coder": self.name,
            "embedder": self.embedder.key,
            "embedder_params": self.embedder.get_params(),
            "units": self.units,
            "C": self.C_,
            "cue_weight": self.cue_weight,
            "threshold": self.threshold_,
            "evidence_k": self.evidence_k,
        }

    @property
    def key(self) -> str:
        return f"{self.name}:{self.embedder.key}"

    # -- fitting --------------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> Any:
        if self.cache is not None and getattr(self.embedder, "cacheable", False):
            return embed_cached(self.embedder, texts, self.cache)
        return self.embedder.embed(texts)

    def fit(self, codebook: Codebook, corpus: list[str] | None = None) -> ZeroShotCoder:
        """Train one classifier per active code on the codebook's sentences."""
        if self.units not in {"sentence", "clauses"}:
            raise InvalidInput(
                f"units of ZeroShotCoder must be 'sentence' or 'clauses'; got {self.units!r}.",
                field="units",
                hint="use units='clauses' (default) or 'sentence'",
            )
        codes = codebook.active_codes
        if not codes:
            raise InvalidInput(
                f"codebook {codebook.name!r} has no active codes to code against.",
                hint="un-retire a code or add one",
            )
        texts, targets = codebook_training_set(codes)
        if not getattr(self.embedder, "cacheable", True):
            self.embedder.fit(list(corpus or []) + texts)
        self._fit_classifiers(self._embed(texts), targets, codes)
        self.codebook_ = codebook
        self.code_ids_ = [c.id for c in codes]
        self.patterns_ = [cue_pattern(code.cues) for code in codes]
        return self

    def _fit_classifiers(
        self, x: Any, targets: np.ndarray, codes: list[Any], sample_weight: np.ndarray | None = None
    ) -> None:
        """One class-weighted logistic regression per code on rows whose target is 0 or 1 (-1: unknown)."""
        from sklearn.linear_model import LogisticRegression

        weights = []
        biases = []
        for j, code in enumerate(codes):
            rows = np.flatnonzero(targets[:, j] >= 0)
            y = targets[rows, j] == 1
            if y.sum() < 2:
                raise InvalidInput(
                    f"code {code.id!r} needs at least 2 positive texts (definition, include rules, examples) "
                    f"to be coded; it has {int(y.sum())}.",
                    field=f"codes.{code.id}.examples",
                    hint="add example sentences to the code",
                )
            clf = LogisticRegression(C=self.C_, class_weight="balanced", max_iter=2000)
            clf.fit(x[rows], y, sample_weight=None if sample_weight is None else sample_weight[rows])
            weights.append(np.asarray(clf.coef_[0], dtype=np.float32))
            biases.append(float(clf.intercept_[0]))
        self.weights_ = np.vstack(weights).T  # (dim, n_codes)
        self.biases_ = np.asarray(biases, dtype=np.float32)

    def thresholds(self) -> np.ndarray:
        """The decision value at which each code counts as present."""
        return np.full(len(self.code_ids_), self.threshold_, dtype=np.float32)

    # -- predicting -----------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise NotFitted(
                "ZeroShotCoder must be fitted to a codebook before predicting.", hint="call .fit(codebook)"
            )

    def decision(self, texts: list[str], cues: np.ndarray | None = None) -> np.ndarray:
        """Decision values z (len(texts), n_codes) for short texts, in batches.

        ``cues`` (0/1 per text and code) can be passed when already known; else it is computed.
        """
        self._check_fitted()
        out = np.empty((len(texts), len(self.code_ids_)), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            chunk = texts[i : i + self.batch_size]
            x = self._embed(chunk)
            out[i : i + len(chunk)] = _dense(x @ self.weights_) + self.biases_
        if self.cue_weight:
            out += self.cue_weight * (cue_hits(texts, self.patterns_) if cues is None else cues)
        return out

    def score_segments(self, segments: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per sentence and code: decision value, and the (start, end) of the best unit (phrase)."""
        self._check_fitted()
        sent_texts = segments["text"].astype(str).tolist()
        unit_texts: list[str] = []
        unit_owner: list[int] = []
        unit_span: list[tuple[int, int]] = []
        for i, text in enumerate(sent_texts):
            for a, b in unit_spans(text, self.units):
                unit_texts.append(text[a:b])
                unit_owner.append(i)
                unit_span.append((a, b))
        cues = unit_cue_hits(sent_texts, unit_owner, unit_span, self.patterns_) if self.cue_weight else None
        z_units = self.decision(unit_texts, cues)
        owner = np.asarray(unit_owner)
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(owner) else np.array([], int)
        z_sent = np.maximum.reduceat(z_units, starts, axis=0) if len(owner) else z_units
        # index of the best unit of each sentence, per code
        best = np.empty_like(z_sent, dtype=np.int64)
        bounds = np.r_[starts, len(owner)]
        for s in range(len(starts)):
            block = z_units[bounds[s] : bounds[s + 1]]
            best[s] = bounds[s] + block.argmax(axis=0)
        spans = np.asarray(unit_span, dtype=np.int64).reshape(-1, 2)
        return z_sent, spans[best, 0], spans[best, 1]

    def predict(self, segments: pd.DataFrame) -> pd.DataFrame:
        if len(segments) == 0:
            return pd.DataFrame(columns=SUGGESTION_COLUMNS)
        seg = segments.reset_index(drop=True)
        z, phrase_start, phrase_end = self.score_segments(seg)
        score = sigmoid(z - self.thresholds())
        return aggregate(seg, z, score, self.code_ids_, self.evidence_k, phrase_start, phrase_end)


def aggregate(
    segments: pd.DataFrame,
    raw: np.ndarray,
    score: np.ndarray,
    code_ids: list[str],
    evidence_k: int,
    phrase_start: np.ndarray | None = None,
    phrase_end: np.ndarray | None = None,
) -> pd.DataFrame:
    """Sentence scores -> one SUGGESTIONS row per venture x code (max over the venture's sentences).

    Evidence spans are document offsets of whole sentences; ``phrase`` gives the offsets of the
    clause or window inside it that scored best.
    """
    seg = segments.reset_index(drop=True)
    vids = seg["venture_id"].to_numpy()
    order = np.argsort(vids, kind="stable")
    vids_sorted = vids[order]
    bounds = np.flatnonzero(np.r_[True, vids_sorted[1:] != vids_sorted[:-1], True])
    fields = seg["field"].to_numpy()
    starts = seg["start"].to_numpy()
    ends = seg["end"].to_numpy()
    texts = seg["text"].to_numpy()
    rows: list[tuple[Any, ...]] = []
    for b in range(len(bounds) - 1):
        idx = order[bounds[b] : bounds[b + 1]]
        vid = vids_sorted[bounds[b]]
        r = raw[idx]
        for j, code_id in enumerate(code_ids):
            # near-ties (float noise of a different batch shape in BLAS) keep document order, so
            # the evidence is the same whatever batch or worker coded the venture
            col = np.round(r[:, j], 5)
            top = idx[np.argsort(-col, kind="stable")[:evidence_k]]
            evidence = []
            for t in top:
                item: dict[str, Any] = {
                    "field": str(fields[t]),
                    "start": int(starts[t]),
                    "end": int(ends[t]),
                    "text": str(texts[t]),
                    "score": round(float(score[t, j]), 4),
                }
                if phrase_start is not None and phrase_end is not None:
                    a, e = int(phrase_start[t, j]), int(phrase_end[t, j])
                    if (a, e) != (0, len(texts[t])):
                        item["phrase"] = {
                            "start": int(starts[t]) + a,
                            "end": int(starts[t]) + e,
                            "text": str(texts[t])[a:e],
                        }
                evidence.append(item)
            best = top[0]
            rows.append((vid, code_id, float(score[best, j]), float(raw[best, j]), evidence))
    return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)
