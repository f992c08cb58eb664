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

import json
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from simap.batches import SUGGESTION_COLUMNS
from simap.codebook.schema import Codebook
from simap.coding.cues import CueSet
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
STORED_COLUMNS = [c for c in SUGGESTION_COLUMNS if c != "evidence"] + ["evidence_json"]
"""SUGGESTIONS with the evidence as the JSON text the store writes (``predict(evidence_json=True)``)."""


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
        self.cues_ = CueSet([code.cues for code in codes])
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
            out += self.cue_weight * (self.cues_.hits(texts) if cues is None else cues)
        return out

    def _span_decision(
        self, texts: list[str], owner: list[int], spans: list[tuple[int, int]], cues: np.ndarray | None
    ) -> np.ndarray:
        """:meth:`decision` for units given as spans of ``texts``, through the embedder's
        ``embed_spans`` (each text tokenized once; the same vectors as embedding the unit texts).

        The disk cache is not read: for a static model, this is faster than looking vectors up.
        """
        out = np.empty((len(owner), len(self.code_ids_)), dtype=np.float32)
        own = np.asarray(owner, dtype=np.int64)
        step = 4096  # texts per call: units of consecutive texts are consecutive
        cuts = np.searchsorted(own, np.arange(0, len(texts) + step, step))
        for c in range(len(cuts) - 1):
            u0, u1 = int(cuts[c]), int(cuts[c + 1])
            if u0 == u1:
                continue
            t0 = c * step
            embed_spans = self.embedder.embed_spans  # type: ignore[attr-defined]
            x = embed_spans(texts[t0 : t0 + step], (own[u0:u1] - t0).tolist(), spans[u0:u1])
            out[u0:u1] = _dense(x @ self.weights_) + self.biases_
        if self.cue_weight and cues is not None:
            out += self.cue_weight * cues
        return out

    def score_segments(self, segments: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per sentence and code: decision value, and the (start, end) of the best unit (phrase)."""
        self._check_fitted()
        sent_texts = segments["text"].astype(str).tolist()
        unit_owner: list[int] = []
        unit_span: list[tuple[int, int]] = []
        for i, text in enumerate(sent_texts):
            found = unit_spans(text, self.units)
            unit_owner.extend([i] * len(found))
            unit_span.extend(found)
        cues = self.cues_.unit_hits(sent_texts, unit_owner, unit_span) if self.cue_weight else None
        if callable(getattr(self.embedder, "embed_spans", None)):
            z_units = self._span_decision(sent_texts, unit_owner, unit_span, cues)
        else:
            z_units = self.decision(
                [sent_texts[i][a:b] for i, (a, b) in zip(unit_owner, unit_span, strict=True)], cues
            )
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

    def predict(self, segments: pd.DataFrame, *, evidence_json: bool = False) -> pd.DataFrame:
        """SUGGESTIONS for the ventures of ``segments``; ``evidence_json``: the evidence as the
        JSON text the store writes (column ``evidence_json``), built without the dicts."""
        if len(segments) == 0:
            return pd.DataFrame(columns=STORED_COLUMNS if evidence_json else SUGGESTION_COLUMNS)
        seg = segments.reset_index(drop=True)
        z, phrase_start, phrase_end = self.score_segments(seg)
        score = sigmoid(z - self.thresholds())
        return aggregate(
            seg, z, score, self.code_ids_, self.evidence_k, phrase_start, phrase_end, as_json=evidence_json
        )


def aggregate(
    segments: pd.DataFrame,
    raw: np.ndarray,
    score: np.ndarray,
    code_ids: list[str],
    evidence_k: int,
    phrase_start: np.ndarray | None = None,
    phrase_end: np.ndarray | None = None,
    *,
    as_json: bool = False,
) -> pd.DataFrame:
    """Sentence scores -> one SUGGESTIONS row per venture x code (max over the venture's sentences).

    Evidence spans are document offsets of whole sentences; ``phrase`` gives the offsets of the
    clause or window inside it that scored best. ``as_json``: column ``evidence_json`` holds
    ``json.dumps(evidence)``, written from pieces serialised once per sentence (tested equal).
    """
    seg = segments.reset_index(drop=True)
    n = len(seg)
    uniq, group = np.unique(seg["venture_id"].to_numpy(), return_inverse=True)
    group = group.reshape(-1)
    pos = np.arange(n)
    # near-ties (float noise of a different batch shape in BLAS) keep document order, so the
    # evidence is the same whatever batch or worker coded the venture
    rounded = np.round(raw, 5)
    n_groups, n_codes = len(uniq), len(code_ids)
    top = np.full((n_groups, n_codes, evidence_k), -1, dtype=np.int64)
    for j in range(n_codes):
        order = np.lexsort((pos, -rounded[:, j], group))  # by venture, best first, then position
        g = group[order]
        first = np.searchsorted(g, np.arange(n_groups))  # where each venture's block starts
        rank = pos - first[g]
        keep = rank < evidence_k
        top[g[keep], j, rank[keep]] = order[keep]
    fields = seg["field"].astype(str).tolist()
    starts = seg["start"].astype(np.int64).tolist()
    ends = seg["end"].astype(np.int64).tolist()
    texts = seg["text"].astype(str).tolist()
    scores = score.tolist()
    raws = raw.tolist()
    p_start = None if phrase_start is None or phrase_end is None else phrase_start.tolist()
    p_end = None if p_start is None else phrase_end.tolist()  # type: ignore[union-attr]
    tops = top.tolist()
    rows: list[tuple[Any, ...]] = []
    if as_json:
        # json.dumps(evidence) spelled out (same separators, key order, float repr and string
        # escaping), each sentence's fields serialised once
        dumps = json.dumps
        heads = [
            f'{{"field": {dumps(f)}, "start": {a}, "end": {e}, "text": {dumps(t)}, "score": '
            for f, a, e, t in zip(fields, starts, ends, texts, strict=True)
        ]
        tails: dict[tuple[int, int, int], str] = {}
    for gi, vid in enumerate(uniq.tolist()):
        for j, code_id in enumerate(code_ids):
            picks = [t for t in tops[gi][j] if t >= 0]
            evidence: list[Any] = []
            for t in picks:
                phrase = None
                if p_start is not None and p_end is not None:
                    a, e = p_start[t][j], p_end[t][j]
                    if (a, e) != (0, len(texts[t])):
                        phrase = (a, e)
                if as_json:
                    tail = "}"
                    if phrase is not None:
                        key = (t, *phrase)
                        if key not in tails:
                            a, e = starts[t] + phrase[0], starts[t] + phrase[1]
                            text = dumps(texts[t][phrase[0] : phrase[1]])
                            tails[key] = f', "phrase": {{"start": {a}, "end": {e}, "text": {text}}}}}'
                        tail = tails[key]
                    evidence.append(heads[t] + repr(round(scores[t][j], 4)) + tail)
                    continue
                item: dict[str, Any] = {
                    "field": fields[t],
                    "start": starts[t],
                    "end": ends[t],
                    "text": texts[t],
                    "score": round(scores[t][j], 4),
                }
                if phrase is not None:
                    a, e = phrase
                    item["phrase"] = {"start": starts[t] + a, "end": starts[t] + e, "text": texts[t][a:e]}
                evidence.append(item)
            best = picks[0]
            stored = "[" + ", ".join(evidence) + "]" if as_json else evidence
            rows.append((vid, code_id, scores[best][j], raws[best][j], stored))
    return pd.DataFrame(rows, columns=STORED_COLUMNS if as_json else SUGGESTION_COLUMNS)
