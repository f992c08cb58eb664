"""A coder that learns from analysts' decisions, on top of the zero-shot prior.

Stacked (``method="stack"``, the default for multi-label codebooks): the zero-shot coder is kept
as it is and its venture decision value is the *offset* of a per-code logistic regression over
the venture's embedding (the mean of its sentences', clauses' and windows' embeddings)::

    z(venture, code) = z_zeroshot(venture, code) + w_code . embed(venture) + b_code

fitted on the labelled ventures with a strong L2 penalty on ``w_code`` (``stack_l2``) and a
near-fixed ``b_code``, positives weighing ``stack_positive_weight``. With no label w = 0 and the
coder is the zero-shot coder; each decision moves the weights a little, so it learns from the
first labels without losing the prior (the threshold stays the zero-shot one); the evidence
(best sentences and phrases) is the zero-shot coder's. On the dev labels (bench/learning.py dev)
it took pooled kappa from 0.48 at 0 labels to 0.53 at 80; the retrained variant below did not
learn, nor did stacking on cue hits, other codes' zero-shot values, TF-IDF or kNN to the evidence.

Retrained (``method="retrain"``, sentence level): the classifiers of :mod:`simap.coding.zeroshot`
are trained on the codebook's own sentences *plus* the project's
labelled sentences:

- the evidence of an accepted code (the quote or phrase a reviewer highlighted; without one,
  the sentence the zero-shot coder ranked best) is a positive for that code;
- every sentence of a venture on which a code was rejected is a negative for that code (this is
  what teaches the coder the texts of *this* project, whose generic sentences the codebook
  cannot foresee).

Labelled rows weigh ``label_weight`` times a codebook row, so the codebook is the prior that
makes the coder work from the first label, and each decision moves it. Per-code thresholds are
chosen by K-fold cross-validation over the labelled ventures (F1 on out-of-fold predictions;
codes with fewer than ``min_positives`` positive ventures keep the zero-shot threshold). On the
dev labels this did not learn (pooled kappa 0.48 at 0 labels, 0.44 at 80).

Venture level (single-label codebooks such as a sector taxonomy, or ``level="venture"`` for tags
declared per venture, such as SDGs): a linear SVM (``venture_model="svm"``; ``"logistic"`` as an
option) over the venture's word 1-2-gram and character 2-5-gram TF-IDF and its mean static
embedding. The text read is the venture's context (:func:`venture_context`: its name, sector and
country, and the metadata fields named in ``context_fields``) followed by its documents, each
distinct text once. The codebook's own texts (name, definition, rules, examples) are added as
labelled training documents (``augment``), so the model knows every code before the first label
and rare codes keep a voice. Single-label: one multi-class model, the argmax is the code.
Multi-label: one model per code, thresholds from out-of-fold decision values (F1), and with
``at_least_one`` each venture keeps its best code. Scores are sigmoid(``score_scale`` x margin)
(a softmax over the groups for single-label). Measured (bench/learning.py): NTEE accuracy 0.588 /
macro-F1 0.531 (TF-IDF + LR on the same input 0.528 / 0.396); SDG micro-F1 0.534 (was 0.467).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from simap.batches import SUGGESTION_COLUMNS
from simap.codebook.schema import Codebook
from simap.coding.units import unit_spans
from simap.coding.zeroshot import ZeroShotCoder, _dense, codebook_training_set, sigmoid
from simap.embed.base import Embedder
from simap.errors import InvalidInput, NotFitted

LABEL_COLUMNS = ["venture_id", "code_id", "status", "evidence"]


def best_f1_threshold(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The threshold on ``z`` that maximises F1 for binary ``y``; (threshold, f1)."""
    order = np.argsort(-z)
    zs, ys = z[order], y[order].astype(bool)
    tp = np.cumsum(ys)
    fp = np.cumsum(~ys)
    pos = ys.sum()
    if pos == 0:
        return float(zs[0] + 1.0), 0.0
    f1 = 2 * tp / (tp + fp + pos)
    # only cut between distinct values
    distinct = np.r_[zs[1:] != zs[:-1], True]
    f1 = np.where(distinct, f1, -1)
    i = int(np.argmax(f1))
    nxt = zs[i + 1] if i + 1 < len(zs) else zs[i] - 1.0
    return float((zs[i] + nxt) / 2), float(f1[i])


def offset_logistic(
    x: np.ndarray,
    offset: np.ndarray,
    y: np.ndarray,
    *,
    l2: float,
    intercept_l2: float,
    positive_weight: float = 1.0,
) -> tuple[np.ndarray, float]:
    """Logistic regression with a fixed offset: P(y) = sigmoid(offset + x . w + b); (w, b).

    Minimises the (positive-weighted) log loss plus ``l2/2 |w|^2 + intercept_l2/2 b^2`` (sums, not
    means: the penalty's pull weakens as labels accumulate). w = 0, b = 0 is the prior.
    """
    from scipy.optimize import minimize

    n_feat = x.shape[1]
    sw = np.where(y == 1, positive_weight, 1.0)
    yf = y.astype(np.float64)
    xd = np.asarray(x, dtype=np.float64)
    off = np.asarray(offset, dtype=np.float64)

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = p[:n_feat], p[n_feat]
        s = off + xd @ w + b
        g = sw * (1.0 / (1.0 + np.exp(-np.clip(s, -30, 30))) - yf)
        value = float(
            np.sum(sw * (np.logaddexp(0.0, s) - yf * s)) + l2 / 2 * w @ w + intercept_l2 / 2 * b * b
        )
        return value, np.r_[xd.T @ g + l2 * w, g.sum() + intercept_l2 * b]

    res = minimize(loss, np.zeros(n_feat + 1), jac=True, method="L-BFGS-B")
    return np.asarray(res.x[:n_feat], dtype=np.float32), float(res.x[n_feat])


def _token(field: str, value: object) -> str:
    return f"{field}_{'_'.join(str(value).lower().split())}"


def venture_context(ventures: pd.DataFrame, fields: tuple[str, ...] = ()) -> dict[str, str]:
    """venture id -> the text a venture-level model reads before the venture's documents.

    The venture's name (plain words: names say much, e.g. "... VOLUNTEER FIRE COMPANY"), its
    ``sector`` and ``country`` as tokens (``sector_health``), and one token per value of each
    metadata field in ``fields`` (``organizations_unicef``). Metadata is never read unless named:
    a field holding the labels themselves (``sdgs``, ``ntee_major``) would leak the answer.
    """
    out: dict[str, str] = {}
    for row in ventures.itertuples(index=False):
        parts = [str(row.name or "")]
        for field in ("sector", "country"):
            value = getattr(row, field, None)
            if isinstance(value, str) and value:
                parts.append(_token(field, value))
        meta = row.metadata if isinstance(getattr(row, "metadata", None), dict) else {}
        for field in fields:
            value = meta.get(field)
            values = value if isinstance(value, list) else [value] if value not in (None, "") else []
            parts.extend(_token(field, v) for v in values)
        out[str(row.id)] = " ".join(p for p in parts if p)
    return out


def label_targets(labels: pd.DataFrame, ids: list[str], codes: list[str]) -> np.ndarray:
    """(len(ids), len(codes)) from LABEL_COLUMNS rows: 1 accepted, 0 rejected, -1 no decision."""
    col = {c: j for j, c in enumerate(codes)}
    row = {v: i for i, v in enumerate(ids)}
    out = np.full((len(ids), len(col)), -1, dtype=np.int8)
    for v, c, st in zip(labels["venture_id"], labels["code_id"], labels["status"], strict=True):
        if v in row and c in col:
            out[row[v], col[c]] = 1 if st == "accepted" else 0
    return out


def venture_texts(
    segments: pd.DataFrame, ids: list[str], ventures: pd.DataFrame | None = None, fields: tuple[str, ...] = ()
) -> list[str]:
    """Each venture's text, in the order of ``ids``: its context (:func:`venture_context`, when
    ``ventures`` is given) and its segments, joined; what the venture-level models read."""
    seg = segments[segments["venture_id"].isin(set(ids))]
    # a text repeated in several fields (mission = program) counts once
    texts_by = seg.groupby("venture_id")["text"].apply(lambda s: " ".join(dict.fromkeys(map(str, s))))
    context = venture_context(ventures, fields) if ventures is not None else {}
    return [f"{context.get(v, '')} {texts_by.get(v, '')}".strip() for v in ids]


def _folds(ids: list[str], k: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(ids)))
    return [[ids[i] for i in order[f::k]] for f in range(k)]


class SupervisedCoder(ZeroShotCoder):
    """Learns from human decisions; see the module docstring."""

    name = "supervised"
    needs_ventures = True  # predict() reads the venture context (name, sector, country, fields)
    run_key: str | None = None  # set by the registry: the key of the train run it came from

    def __init__(
        self,
        embedder: Embedder,
        *,
        level: str = "auto",
        method: str = "blend",
        stack_l2: float = 10.0,
        stack_positive_weight: float = 3.0,
        stack_intercept_l2: float = 1e4,
        label_weight: float = 1.0,
        negative_weight: float = 0.3,
        negatives: str = "all",
        folds: int = 5,
        min_positives: int = 8,
        blend_min_positives: int = 20,
        venture_model: str = "svm",
        venture_c: float = 0.5,
        char_ngrams: bool = True,
        augment: bool = True,
        context_fields: tuple[str, ...] | list[str] = (),
        at_least_one: bool = False,
        score_scale: float = 4.0,
        calibrate: bool = False,
        seed: int = 0,
        tuned_embedder: Embedder | None = None,
        tuned_weight: float = 0.25,
        **zeroshot_params: Any,
    ) -> None:
        super().__init__(embedder, **zeroshot_params)
        self.level = level
        self.method = method
        self.stack_l2 = stack_l2
        self.stack_positive_weight = stack_positive_weight
        self.stack_intercept_l2 = stack_intercept_l2
        self.label_weight = label_weight
        self.negative_weight = negative_weight
        self.negatives = negatives
        self.folds = folds
        self.min_positives = min_positives
        self.blend_min_positives = blend_min_positives
        self.venture_model = venture_model
        self.venture_c = venture_c
        self.char_ngrams = char_ngrams
        self.augment = augment
        self.context_fields = tuple(context_fields)
        self.at_least_one = at_least_one
        self.score_scale = score_scale
        self.calibrate = calibrate
        self.seed = seed
        self.tuned_embedder = tuned_embedder
        self.tuned_weight = tuned_weight

    def get_params(self) -> dict[str, Any]:
        return super().get_params() | {
            "coder": self.name,
            "level": self.level,
            "method": self.method,
            "stack_l2": self.stack_l2,
            "stack_positive_weight": self.stack_positive_weight,
            "stack_intercept_l2": self.stack_intercept_l2,
            "negative_weight": self.negative_weight,
            "negatives": self.negatives,
            "label_weight": self.label_weight,
            "folds": self.folds,
            "min_positives": self.min_positives,
            "blend_min_positives": self.blend_min_positives,
            "venture_model": self.venture_model,
            "venture_c": self.venture_c,
            "char_ngrams": self.char_ngrams,
            "augment": self.augment,
            "context_fields": list(self.context_fields),
            "at_least_one": self.at_least_one,
            "score_scale": self.score_scale,
            "calibrate": self.calibrate,
            "seed": self.seed,
            "tuned_embedder": getattr(self.tuned_embedder, "key", None),
            "tuned_weight": self.tuned_weight if self.tuned_embedder is not None else None,
        }

    # -- training -------------------------------------------------------------------------
    def fit(  # type: ignore[override]
        self,
        codebook: Codebook,
        corpus: list[str] | None = None,
        *,
        segments: pd.DataFrame | None = None,
        labels: pd.DataFrame | None = None,
        ventures: pd.DataFrame | None = None,
    ) -> SupervisedCoder:
        """Fit on the codebook and the human ``labels`` (LABEL_COLUMNS) of ventures in ``segments``.

        ``ventures`` (VENTURE_COLUMNS) gives a venture-level model each venture's context (see
        :func:`venture_context`); pass the same at prediction time.
        """
        labels = labels if labels is not None else pd.DataFrame(columns=LABEL_COLUMNS)
        segments = segments if segments is not None else pd.DataFrame(columns=["venture_id", "text"])
        unknown = sorted(set(labels["code_id"]) - set(codebook.ids()))
        if unknown:
            raise InvalidInput(
                f"labels use codes that codebook {codebook.name!r} does not have: {unknown}.",
                field="code_id",
                hint="train with the codebook the decisions were made with",
            )
        self.level_ = level = self.resolve_level(codebook, tuned=self.tuned_embedder is not None)
        # a refit must not use old weights or an old calibration
        for stale in ("stack_w_", "blend_", "tuned_heads_", "calibration_", "oof_scores_", "oof_targets_"):
            self.__dict__.pop(stale, None)
        super().fit(codebook, corpus=corpus)
        labelled = sorted(set(labels["venture_id"]) & set(segments["venture_id"]))
        self.n_labels_ = len(labelled)
        self.labelled_ids_ = labelled  # the row order of oof_scores_ / oof_targets_
        self.thresholds_ = np.full(len(self.code_ids_), self.threshold_, dtype=np.float32)
        self.cv_: dict[str, Any] = {}
        if not labelled:
            return self
        if level == "sentence" and self.method == "blend":
            self._fit_blend(segments, labels, labelled, ventures)
        elif level == "sentence" and self.method == "stack":
            self._fit_stack(segments, labels, labelled)
        elif level == "sentence":
            self._fit_sentence(segments, labels, labelled)
        else:
            self._fit_venture(segments, labels, labelled, ventures)
        return self

    def resolve_level(self, codebook: Codebook, *, tuned: bool = False) -> str:
        """The model level ``fit`` uses for ``codebook`` ('sentence' or 'venture'), after checking
        that the options go together (``tuned``: with a fine-tuned embedder, which needs the
        sentence-level blend; ``simap train --finetune`` checks this before fine-tuning)."""
        level = self.level
        if level == "auto":
            level = "venture" if codebook.label_mode == "single" else "sentence"
        if level not in {"sentence", "venture"}:
            raise InvalidInput(
                f"level must be 'auto', 'sentence' or 'venture'; got {self.level!r}.",
                field="level",
                hint="use level='auto'",
            )
        if self.method not in {"stack", "retrain", "blend"}:
            raise InvalidInput(
                f"method must be 'blend', 'stack' or 'retrain'; got {self.method!r}.",
                field="method",
                hint="use method='stack' (default)",
            )
        if level == "sentence" and (self.context_fields or self.at_least_one):
            raise InvalidInput(
                "context_fields and at_least_one apply to the venture-level model only; with "
                f"level={self.level!r} codebook {codebook.name!r} gets the sentence-level model.",
                field="level",
                hint="ask for the venture-level model: level='venture' (simap train --level venture)",
            )
        if tuned and (level != "sentence" or self.method != "blend"):
            raise InvalidInput(
                "a fine-tuned embedder (simap train --finetune) works with the sentence-level blend "
                f"only; got method={self.method!r} at level={level!r} for codebook {codebook.name!r}.",
                field="finetune",
                hint="drop --finetune, or train without --level venture / --context-field / --at-least-one",
            )
        return level

    def _targets(self, labels: pd.DataFrame, ids: list[str]) -> np.ndarray:
        return label_targets(labels, ids, self.code_ids_)

    # sentence level ------------------------------------------------------------------------
    def _sentence_rows(
        self, segments: pd.DataFrame, labels: pd.DataFrame, ids: list[str], prior_z: pd.DataFrame
    ) -> tuple[list[str], np.ndarray]:
        venture_targets = self._targets(labels, ids)
        texts: list[str] = []
        rows: list[np.ndarray] = []
        seg_by = {v: g for v, g in segments[segments["venture_id"].isin(set(ids))].groupby("venture_id")}
        ev_by = {
            (v, c): e
            for v, c, e, st in zip(
                labels["venture_id"], labels["code_id"], labels["evidence"], labels["status"], strict=True
            )
            if st == "accepted"
        }
        col = {c: j for j, c in enumerate(self.code_ids_)}
        for i, vid in enumerate(ids):
            t = venture_targets[i]
            neg_only = np.where(t == 0, 0, -1).astype(np.int8)
            for text in seg_by[vid]["text"] if vid in seg_by else []:
                row = neg_only
                if self.negatives == "top":  # only the sentence the machine ranked best (hard negative)
                    best = [
                        (vid, c) in prior_z.index and prior_z.loc[(vid, c), "best"] == str(text)
                        for c in self.code_ids_
                    ]
                    row = np.where((t == 0) & np.asarray(best, dtype=bool), 0, -1).astype(np.int8)
                if (row == 0).any():
                    texts.append(str(text))
                    rows.append(row)
            if self.negatives == "top":
                neg_only = np.full_like(neg_only, -1)
            for j in np.flatnonzero(t == 1):
                quotes = [
                    e.get("phrase", {}).get("text") or e.get("text")
                    for e in (ev_by.get((vid, self.code_ids_[j])) or [])
                    if isinstance(e, dict)
                ]
                quotes = [q for q in quotes if q]
                if not quotes and (vid, self.code_ids_[j]) in prior_z.index:
                    quotes = [prior_z.loc[(vid, self.code_ids_[j]), "best"]]
                for q in quotes:
                    r = neg_only.copy()
                    r[col[self.code_ids_[j]]] = 1
                    texts.append(str(q))
                    rows.append(r)
        return texts, (np.vstack(rows) if rows else np.zeros((0, len(col)), dtype=np.int8))

    def _fit_on(
        self, segments: pd.DataFrame, labels: pd.DataFrame, ids: list[str], prior_z: pd.DataFrame
    ) -> None:
        codes = self.codebook_.active_codes
        base_texts, base_targets = codebook_training_set(codes)
        extra_texts, extra_targets = self._sentence_rows(segments, labels, ids, prior_z)
        texts = base_texts + extra_texts
        targets = np.vstack([base_targets, extra_targets])
        has_pos = (extra_targets == 1).any(axis=1)
        weight = np.r_[np.ones(len(base_texts)), np.where(has_pos, self.label_weight, self.negative_weight)]
        self._fit_classifiers(self._embed(texts), targets, codes, sample_weight=weight)

    def _prior_evidence(self, segments: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
        """Zero-shot best sentence per labelled venture x code (the evidence of labels without one)."""
        seg = segments[segments["venture_id"].isin(set(ids))]
        sugg = ZeroShotCoder.predict(self, seg)
        best = [e[0]["text"] if e else "" for e in sugg["evidence"]]
        return pd.DataFrame(
            {"best": best}, index=pd.MultiIndex.from_arrays([sugg["venture_id"], sugg["code_id"]])
        )

    def _fit_sentence(self, segments: pd.DataFrame, labels: pd.DataFrame, labelled: list[str]) -> None:
        prior_z = self._prior_evidence(segments, labelled)
        targets = self._targets(labels, labelled)
        k = min(self.folds, len(labelled))
        oof = np.full(targets.shape, np.nan, dtype=np.float32)
        if k >= 2:
            for fold in _folds(labelled, k, self.seed):
                train = [v for v in labelled if v not in set(fold)]
                self._fit_on(segments, labels, train, prior_z)
                held = segments[segments["venture_id"].isin(set(fold))]
                pred = ZeroShotCoder.predict(self, held)
                piv = pred.pivot(index="venture_id", columns="code_id", values="raw")
                for v in fold:
                    if v in piv.index:
                        oof[labelled.index(v)] = piv.loc[v, self.code_ids_].to_numpy()
            self._choose_thresholds(oof, targets)
        self._fit_on(segments, labels, labelled, prior_z)

    def _choose_thresholds(self, oof: np.ndarray, targets: np.ndarray) -> None:
        thresholds = np.full(len(self.code_ids_), self.threshold_, dtype=np.float32)
        per_code = {}
        for j, code in enumerate(self.code_ids_):
            ok = (targets[:, j] >= 0) & ~np.isnan(oof[:, j])
            y = targets[ok, j] == 1
            if y.sum() >= self.min_positives:
                thresholds[j], f1 = best_f1_threshold(oof[ok, j], y)
                per_code[code] = {
                    "f1": round(f1, 4),
                    "positives": int(y.sum()),
                    "threshold": float(thresholds[j]),
                }
        self.thresholds_ = thresholds
        ok = (targets >= 0) & ~np.isnan(oof)
        pred = oof >= thresholds[None, :]
        tp = int((pred & (targets == 1) & ok).sum())
        fp = int((pred & (targets == 0) & ok).sum())
        fn = int((~pred & (targets == 1) & ok).sum())
        self.cv_ = {
            "folds": min(self.folds, len(targets)),
            "pooled_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4),
            "per_code": per_code,
            "note": "thresholds chosen on these out-of-fold predictions",
        }

    # stacked on the zero-shot prior ----------------------------------------------------------
    def _venture_embeddings(self, segments: pd.DataFrame, ids: list[str]) -> np.ndarray:
        """(len(ids), dim): mean embedding of each venture's scoring units, L2-normalised."""
        texts: list[str] = []
        owner: list[int] = []
        row = {v: i for i, v in enumerate(ids)}
        for vid, text in zip(segments["venture_id"], segments["text"].astype(str), strict=True):
            if vid not in row:
                continue
            for a, b in unit_spans(text, self.units):
                texts.append(text[a:b])
                owner.append(row[vid])
        if not texts:
            return np.zeros(
                (len(ids), self.stack_w_.shape[0] if hasattr(self, "stack_w_") else 0), np.float32
            )
        units = _dense(self._embed(texts))
        out = np.zeros((len(ids), units.shape[1]), dtype=np.float64)
        np.add.at(out, np.asarray(owner), units)
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norm > 0, norm, 1.0)).astype(np.float32)

    def _zeroshot_raw(self, segments: pd.DataFrame, ids: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
        """Zero-shot suggestions and their decision values (len(ids), n_codes)."""
        base = ZeroShotCoder.predict(self, segments[segments["venture_id"].isin(set(ids))])
        piv = base.pivot(index="venture_id", columns="code_id", values="raw")
        raw = piv.reindex(index=ids, columns=self.code_ids_).fillna(-30.0).to_numpy(dtype=np.float32)
        return base, raw

    def _fit_stack_on(
        self, x: np.ndarray, offset: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        weights = np.zeros((x.shape[1], len(self.code_ids_)), dtype=np.float32)
        biases = np.zeros(len(self.code_ids_), dtype=np.float32)
        for j in range(len(self.code_ids_)):
            rows = np.flatnonzero(targets[:, j] >= 0)
            if len(rows) == 0:
                continue
            weights[:, j], biases[j] = offset_logistic(
                x[rows],
                offset[rows, j],
                targets[rows, j] == 1,
                l2=self.stack_l2,
                intercept_l2=self.stack_intercept_l2,
                positive_weight=self.stack_positive_weight,
            )
        return weights, biases

    def _fit_stack(self, segments: pd.DataFrame, labels: pd.DataFrame, labelled: list[str]) -> None:
        targets = self._targets(labels, labelled)
        x = self._venture_embeddings(segments, labelled)
        _, raw = self._zeroshot_raw(segments, labelled)
        offset = raw - self.thresholds_[None, :]
        k = min(self.folds, len(labelled))
        if k >= 2:
            oof = np.full(targets.shape, np.nan, dtype=np.float32)
            row = {v: i for i, v in enumerate(labelled)}
            for fold in _folds(labelled, k, self.seed):
                test = np.asarray([row[v] for v in fold], dtype=np.int64)
                train = np.setdiff1d(np.arange(len(labelled)), test)
                w, b = self._fit_stack_on(x[train], offset[train], targets[train])
                oof[test] = raw[test] + x[test] @ w + b
            self._cv_report(oof, targets)
            self._calibrate(oof - self.thresholds_[None, :], targets)
        self.stack_w_, self.stack_b_ = self._fit_stack_on(x, offset, targets)

    def _cv_report(self, oof: np.ndarray, targets: np.ndarray) -> None:
        """Out-of-fold scores at the coder's thresholds (nothing is chosen on them)."""
        ok = (targets >= 0) & ~np.isnan(oof)
        pred = oof >= self.thresholds_[None, :]
        per_code = {}
        for j, code in enumerate(self.code_ids_):
            y, p = targets[ok[:, j], j] == 1, pred[ok[:, j], j]
            if y.any():
                tp = int((y & p).sum())
                per_code[code] = {
                    "f1": round(2 * tp / max(1, int(y.sum()) + int(p.sum())), 4),
                    "positives": int(y.sum()),
                }
        tp = int((pred & (targets == 1) & ok).sum())
        fp = int((pred & (targets == 0) & ok).sum())
        fn = int((~pred & (targets == 1) & ok).sum())
        self.cv_ = {
            "folds": min(self.folds, len(targets)),
            "pooled_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4),
            "per_code": per_code,
            "note": "out-of-fold predictions at the zero-shot thresholds",
        }

    # blended with the zero-shot prior --------------------------------------------------------
    def _fit_vectorizers(self, texts: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        min_df = 2 if len(texts) >= 50 else 1  # a term seen once says little, unless data is tiny
        self.word_tfidf_ = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, max_features=200_000
        ).fit(texts)
        self.char_tfidf_ = None
        if self.char_ngrams:
            self.char_tfidf_ = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=min_df, max_features=150_000
            ).fit(texts)

    def _blend_model(self, x: Any, y: np.ndarray, x_book: Any) -> Any:
        from sklearn.linear_model import LogisticRegression

        if x_book is not None and x_book.shape[0]:
            x = sparse.vstack([x, x_book]).tocsr()
            y = np.r_[y, np.ones(x_book.shape[0], dtype=bool)]
        return LogisticRegression(C=self.venture_c * 2, class_weight="balanced", max_iter=5000).fit(x, y)

    def _fit_blend(
        self,
        segments: pd.DataFrame,
        labels: pd.DataFrame,
        labelled: list[str],
        ventures: pd.DataFrame | None,
    ) -> None:
        """Per code with enough positives: a venture-level model (word + character TF-IDF and the
        embedding) whose standardised decision value is added to the standardised zero-shot margin;
        the threshold is chosen on out-of-fold values (F1). Rarer codes keep the zero-shot decision.
        Scores are calibrated on the out-of-fold margins."""
        targets = self._targets(labels, labelled)
        texts = self._venture_texts(segments, labelled, ventures)
        book_texts, book_codes = self._codebook_documents() if self.augment else ([], [])
        self._fit_vectorizers(texts + book_texts)
        x = self._featurize(texts)
        x_book_all = self._featurize(book_texts) if book_texts else None
        _, raw = self._zeroshot_raw(segments, labelled)
        prior = raw - self.threshold_
        k = min(self.folds, len(labelled))
        fold_of = np.arange(len(labelled)) % max(k, 1)
        np.random.default_rng(self.seed).shuffle(fold_of)
        oof_margin = prior.astype(np.float64).copy()
        self.blend_: dict[int, dict[str, Any]] = {}
        per_code: dict[str, Any] = {}
        for j, code in enumerate(self.code_ids_):
            known = np.flatnonzero(targets[:, j] >= 0)
            y = targets[known, j] == 1
            if k < 2 or y.sum() < self.blend_min_positives or (~y).sum() < self.blend_min_positives:
                continue
            book_rows = [i for i, c in enumerate(book_codes) if c == code]
            x_book = x_book_all[book_rows] if x_book_all is not None and book_rows else None
            dec = np.full(len(labelled), np.nan)
            for f in range(k):
                train = known[fold_of[known] != f]
                test = known[fold_of[known] == f]
                yt = targets[train, j] == 1
                if yt.sum() < 1 or (~yt).sum() < 1 or len(test) == 0:
                    continue
                dec[test] = self._blend_model(x[train], yt, x_book).decision_function(x[test])
            ok = known[~np.isnan(dec[known])]
            if len(ok) < 4 or not (targets[ok, j] == 1).any():
                continue
            scale_model = float(np.std(dec[ok])) or 1.0
            scale_prior = float(np.std(prior[ok, j])) or 1.0
            blended = dec[ok] / scale_model + prior[ok, j] / scale_prior
            cut, f1 = best_f1_threshold(blended, targets[ok, j] == 1)
            model = self._blend_model(x[known], y, x_book)
            self.blend_[j] = {
                "model": model,
                "scale_model": scale_model,
                "scale_prior": scale_prior,
                "cut": cut,
            }
            oof_margin[:, j] = np.nan
            oof_margin[ok, j] = blended - cut
            per_code[code] = {"f1": round(f1, 4), "positives": int(y.sum()), "threshold": round(cut, 4)}
        pred = oof_margin >= 0
        ok = (targets >= 0) & ~np.isnan(oof_margin)
        tp = int((pred & (targets == 1) & ok).sum())
        fp = int((pred & (targets == 0) & ok).sum())
        fn = int((~pred & (targets == 1) & ok).sum())
        self.cv_ = {
            "folds": k,
            "pooled_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4),
            "per_code": per_code,
            "note": "out-of-fold blended margins (codes without a model: the zero-shot margin)",
        }
        if k >= 2:
            self._calibrate(oof_margin, targets)
        if self.tuned_embedder is not None:
            self._fit_tuned_heads(texts, targets)

    def _fit_tuned_heads(self, texts: list[str], targets: np.ndarray) -> None:
        """Per code with >= 2 positives: a class-balanced logistic regression on the tuned
        embedder's vectors of the venture texts (SetFit's head); at prediction its probability
        takes ``tuned_weight`` of the score. The cut stays at 0.5, and the out-of-fold scores
        (calibration, ``--precision``) are those of the blend alone: the tuned model has seen
        every training label, so its own out-of-fold scores would flatter it."""
        from sklearn.linear_model import LogisticRegression

        assert self.tuned_embedder is not None
        e = np.asarray(self.tuned_embedder.embed(texts), dtype=np.float64)
        self.tuned_heads_: dict[int, tuple[np.ndarray, float]] = {}
        for j in range(len(self.code_ids_)):
            known = targets[:, j] >= 0
            y = targets[known, j] == 1
            if y.sum() < 2 or (~y).sum() < 2:
                continue
            lr = LogisticRegression(class_weight="balanced", max_iter=2000).fit(e[known], y)
            self.tuned_heads_[j] = (lr.coef_[0].copy(), float(lr.intercept_[0]))

    def _predict_blend(self, segments: pd.DataFrame, ventures: pd.DataFrame | None) -> pd.DataFrame:
        if len(segments) == 0:
            return pd.DataFrame(columns=SUGGESTION_COLUMNS)
        ids = list(pd.unique(segments["venture_id"]))
        base, raw = self._zeroshot_raw(segments, ids)
        margin = (raw - self.threshold_).astype(np.float64)
        z = raw.astype(np.float64).copy()
        if self.blend_:
            x = self._featurize(self._venture_texts(segments, ids, ventures))
            for j, part in self.blend_.items():
                blended = (
                    part["model"].decision_function(x) / part["scale_model"]
                    + (raw[:, j] - self.threshold_) / part["scale_prior"]
                )
                margin[:, j] = blended - part["cut"]
                z[:, j] = blended
        score = self._probability(margin, scale=1.0)
        heads = getattr(self, "tuned_heads_", None)
        if heads and self.tuned_embedder is not None:
            texts = self._venture_texts(segments, ids, ventures)
            e = np.asarray(self.tuned_embedder.embed(texts), dtype=np.float64)
            w = self.tuned_weight
            for j, (coef, intercept) in heads.items():
                score[:, j] = (1 - w) * score[:, j] + w * (1 / (1 + np.exp(-(e @ coef + intercept))))
        return self._rescored(base, ids, z, score)

    # venture level -------------------------------------------------------------------------
    def _venture_texts(
        self, segments: pd.DataFrame, ids: list[str], ventures: pd.DataFrame | None
    ) -> list[str]:
        """Each venture's text: :func:`venture_texts` with this coder's ``context_fields``."""
        return venture_texts(segments, ids, ventures, self.context_fields)

    def _featurize(self, texts: list[str]) -> Any:
        """Word and character TF-IDF and the embedding of each venture text, side by side."""
        parts = [self.word_tfidf_.transform(texts)]
        if self.char_tfidf_ is not None:
            parts.append(self.char_tfidf_.transform(texts))
        parts.append(sparse.csr_matrix(_dense(self._embed(texts))))
        return sparse.hstack(parts).tocsr()

    def _codebook_documents(self) -> tuple[list[str], list[str]]:
        """The codebook's own texts (name, definition, rules, examples) as labelled documents."""
        texts: list[str] = []
        codes: list[str] = []
        for code in self.codebook_.active_codes:
            for t in [code.name, code.definition, *code.include, *code.examples]:
                texts.append(t)
                codes.append(code.id)
        return texts, codes

    def _venture_model(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        if self.venture_model == "svm":
            return LinearSVC(C=self.venture_c, class_weight="balanced")
        return LogisticRegression(C=self.venture_c, class_weight="balanced", max_iter=3000)

    def _fit_venture(
        self,
        segments: pd.DataFrame,
        labels: pd.DataFrame,
        labelled: list[str],
        ventures: pd.DataFrame | None,
    ) -> None:

        if self.venture_model not in {"svm", "logistic"}:
            raise InvalidInput(
                f"venture_model must be 'svm' or 'logistic'; got {self.venture_model!r}.",
                field="venture_model",
                hint="use venture_model='svm' (default)",
            )
        targets = self._targets(labels, labelled)
        texts = self._venture_texts(segments, labelled, ventures)
        book_texts, book_codes = self._codebook_documents() if self.augment else ([], [])
        col = {c: j for j, c in enumerate(self.code_ids_)}
        book_targets = np.full((len(book_texts), len(col)), -1, dtype=np.int8)
        if self.codebook_.label_mode == "single":
            book_targets[:] = 0
        book_targets[np.arange(len(book_texts)), [col[c] for c in book_codes]] = 1
        all_texts = texts + book_texts
        all_targets = np.vstack([targets, book_targets]) if book_texts else targets
        self._fit_vectorizers(all_texts)
        single = self.codebook_.label_mode == "single"
        if single:
            y = np.array(
                [self.code_ids_[int(np.argmax(t))] if (t == 1).any() else "" for t in all_targets],
                dtype=object,
            )
            keep = np.flatnonzero(y != "")
            if len(set(y[keep])) < 2:
                raise InvalidInput(
                    "single-label training needs accepted codes of at least two classes.",
                    field="labels",
                    hint="code more ventures, or keep augment=True so the codebook's examples count",
                )
        x = self._featurize(all_texts)
        n = len(texts)
        self.venture_models_: list[Any] = []
        if single:
            self.venture_models_ = [self._venture_model().fit(x[keep], y[keep])]
            self._cv_single(x, y, n)
            return

        def fit_code(rows: np.ndarray, j: int) -> Any:
            yj = all_targets[rows, j] == 1
            if yj.sum() < 2 or (~yj).sum() < 2:
                return None
            return self._venture_model().fit(x[rows], yj)

        known = [np.flatnonzero(all_targets[:, j] >= 0) for j in range(len(self.code_ids_))]
        self.venture_models_ = [fit_code(known[j], j) for j in range(len(self.code_ids_))]
        # per-code thresholds from out-of-fold decision values over the labelled ventures (the
        # codebook's documents stay in every training fold)
        k = min(self.folds, n)
        oof = np.full(targets.shape, np.nan, dtype=np.float32)
        fold_of = np.arange(n) % k if k >= 2 else np.zeros(n, int)
        np.random.default_rng(self.seed).shuffle(fold_of)
        book_rows = np.arange(n, len(all_texts))
        for f in range(k if k >= 2 else 0):
            train_rows = np.r_[np.flatnonzero(fold_of != f), book_rows]
            test_rows = np.flatnonzero(fold_of == f)
            for j in range(len(self.code_ids_)):
                m = fit_code(np.intersect1d(train_rows, known[j]), j)
                if m is not None:
                    oof[test_rows, j] = m.decision_function(x[test_rows])
        self._choose_thresholds(oof, targets)
        self.thresholds_ = np.where(
            np.isin(self.code_ids_, list(self.cv_.get("per_code", {}))), self.thresholds_, 0.0
        ).astype(np.float32)
        if k >= 2:
            self._calibrate(oof - self.thresholds_[None, :], targets, scale=self.score_scale)

    def _cv_single(self, x: Any, y: np.ndarray, n: int) -> None:
        """Out-of-fold accuracy and macro-F1 over the ``n`` labelled ventures (the codebook's
        documents stay in every training fold); only reported, nothing is chosen on them."""
        from sklearn.metrics import f1_score

        labelled = np.flatnonzero(y[:n] != "")
        k = min(self.folds, len(labelled))
        if k < 2:
            return
        fold_of = np.arange(len(labelled)) % k
        np.random.default_rng(self.seed).shuffle(fold_of)
        extra = np.flatnonzero(y[n:] != "") + n
        pred = np.empty(len(labelled), dtype=object)
        for f in range(k):
            train = np.r_[labelled[fold_of != f], extra]
            if len(set(y[train])) < 2:
                return
            model = self._venture_model().fit(x[train], y[train])
            pred[fold_of == f] = model.predict(x[labelled[fold_of == f]])
        truth = y[labelled].astype(str)
        accuracy = float(np.mean(pred.astype(str) == truth))
        self.cv_ = {
            "folds": k,
            "accuracy": round(accuracy, 4),
            "macro_f1": round(float(f1_score(truth, pred.astype(str), average="macro")), 4),
            "pooled_f1": round(accuracy, 4),  # one code per venture: micro-F1 is the accuracy
            "note": "out-of-fold predictions of the venture-level model",
        }

    # -- calibration ----------------------------------------------------------------------
    def _calibrate(self, margin: np.ndarray, targets: np.ndarray, *, scale: float = 1.0) -> None:
        """Keep the out-of-fold scores (the scale predictions report) for precision targets and the
        Brier score; with ``calibrate`` fit Platt scaling on the out-of-fold margins first."""
        from simap.coding.calibration import Calibrator, brier_score

        margin = np.where(np.isnan(margin), -30.0, margin)
        if self.calibrate:
            self.calibration_ = Calibrator.fit(self.code_ids_, margin, targets)
            self.cv_["calibration"] = self.calibration_.to_dict()
        self.oof_scores_ = self._probability(margin, scale=scale).astype(np.float32)
        self.oof_targets_ = np.asarray(targets, dtype=np.int8)
        known = self.oof_targets_ >= 0
        self.cv_["brier"] = round(brier_score(self.oof_scores_[known], self.oof_targets_[known] == 1), 4)

    def _probability(self, margin: np.ndarray, *, scale: float) -> np.ndarray:
        calibration = getattr(self, "calibration_", None)
        if calibration is not None:
            return calibration.transform(margin)
        return sigmoid(scale * margin)

    def precision_thresholds(self, target: float) -> dict[str, float]:
        """code -> the lowest calibrated score reaching ``target`` precision out of fold (inf: abstain)."""
        from simap.coding.calibration import precision_thresholds

        if getattr(self, "oof_scores_", None) is None:
            raise NotFitted(
                "a target precision needs calibration data: out-of-fold scores of a trained model.",
                hint="run `simap train` (with at least 2 labelled ventures) and code with --coder supervised",
            )
        return precision_thresholds(self.oof_scores_, self.oof_targets_, self.code_ids_, target)

    # -- predicting -----------------------------------------------------------------------
    def thresholds(self) -> np.ndarray:
        if not hasattr(self, "thresholds_"):
            raise NotFitted("SupervisedCoder must be fitted before predicting.", hint="call .fit(...)")
        return self.thresholds_

    def predict(
        self, segments: pd.DataFrame, ventures: pd.DataFrame | None = None, *, evidence_json: bool = False
    ) -> pd.DataFrame:
        """SUGGESTIONS for ``segments``; ``ventures`` (VENTURE_COLUMNS) adds the venture context
        (name, sector, country, ``context_fields``) that a venture-level model was trained with.
        ``evidence_json``: the evidence as JSON text (column ``evidence_json``), as the store writes it."""
        out = self._predict(segments, ventures)
        if evidence_json:
            out["evidence_json"] = [json.dumps(e) for e in out.pop("evidence").tolist()]
        return out

    def _predict(self, segments: pd.DataFrame, ventures: pd.DataFrame | None) -> pd.DataFrame:
        if getattr(self, "blend_", None) is not None and getattr(self, "level_", "") == "sentence":
            return self._predict_blend(segments, ventures)
        if getattr(self, "stack_w_", None) is not None and getattr(self, "level_", "") == "sentence":
            return self._predict_stack(segments)
        if getattr(self, "level_", "sentence") == "sentence" or not getattr(self, "venture_models_", None):
            return super().predict(segments)
        if len(segments) == 0:
            return pd.DataFrame(columns=SUGGESTION_COLUMNS)
        ids = list(pd.unique(segments["venture_id"]))
        x = self._featurize(self._venture_texts(segments, ids, ventures))
        base = super().predict(segments).set_index(["venture_id", "code_id"])
        raw = np.zeros((len(ids), len(self.code_ids_)), dtype=np.float32)
        if self.codebook_.label_mode == "single":
            clf = self.venture_models_[0]
            dec = clf.decision_function(x)
            dec = dec if dec.ndim == 2 else np.c_[-dec, dec]
            cols = {c: i for i, c in enumerate(clf.classes_)}
            raw[:] = -30.0
            for j, c in enumerate(self.code_ids_):
                if c in cols:
                    raw[:, j] = dec[:, cols[c]]
            # a softmax over the decision values: the chosen group scores at least 0.5, the others less
            e = np.exp(self.score_scale * (raw - raw.max(axis=1, keepdims=True)))
            proba = e / e.sum(axis=1, keepdims=True)
            best = raw.argmax(axis=1)
            score = np.minimum(proba, 0.49)
            score[np.arange(len(ids)), best] = np.maximum(proba[np.arange(len(ids)), best], 0.5)
        else:
            zeroshot = base["raw"].unstack().reindex(index=ids, columns=self.code_ids_).to_numpy()
            for j, m in enumerate(self.venture_models_):
                # a code too rare to train on keeps its zero-shot decision
                raw[:, j] = m.decision_function(x) if m is not None else zeroshot[:, j] - self.threshold_
            margin = raw - self.thresholds_
            score = self._probability(margin, scale=self.score_scale)
            if self.at_least_one:
                top = margin.argmax(axis=1)
                score[np.arange(len(ids)), top] = np.maximum(score[np.arange(len(ids)), top], 0.5)
        rows = []
        for i, v in enumerate(ids):
            for j, c in enumerate(self.code_ids_):
                ev = base.loc[(v, c), "evidence"] if (v, c) in base.index else []
                rows.append((v, c, float(score[i, j]), float(raw[i, j]), ev))
        return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)

    def _rescored(self, base: pd.DataFrame, ids: list[str], z: np.ndarray, score: np.ndarray) -> pd.DataFrame:
        """``base`` (zero-shot suggestions: their evidence) with raw and score from (ids x codes) arrays."""
        row = {v: i for i, v in enumerate(ids)}
        col = {c: j for j, c in enumerate(self.code_ids_)}
        out = base.copy()
        i = out["venture_id"].map(row).to_numpy()
        j = out["code_id"].map(col).to_numpy()
        out["raw"] = z[i, j].astype(float)
        out["score"] = score[i, j].astype(float)
        return out.reset_index(drop=True)

    def _predict_stack(self, segments: pd.DataFrame) -> pd.DataFrame:
        if len(segments) == 0:
            return pd.DataFrame(columns=SUGGESTION_COLUMNS)
        ids = list(pd.unique(segments["venture_id"]))
        base, raw = self._zeroshot_raw(segments, ids)
        z = raw + self._venture_embeddings(segments, ids) @ self.stack_w_ + self.stack_b_
        score = self._probability(z - self.thresholds_[None, :], scale=1.0)
        return self._rescored(base, ids, z, score)
