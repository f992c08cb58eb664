"""A coder that learns from analysts' decisions, on top of the zero-shot prior.

Sentence level (codes with evidence, the default for multi-label codebooks): the classifiers of
:mod:`simap.coding.zeroshot` are trained on the codebook's own sentences *plus* the project's
labelled sentences:

- the evidence of an accepted code (the quote or phrase a reviewer highlighted; without one,
  the sentence the zero-shot coder ranked best) is a positive for that code;
- every sentence of a venture on which a code was rejected is a negative for that code (this is
  what teaches the coder the texts of *this* project, whose generic sentences the codebook
  cannot foresee).

Labelled rows weigh ``label_weight`` times a codebook row, so the codebook is the prior that
makes the coder work from the first label, and each decision moves it. Per-code thresholds are
chosen by K-fold cross-validation over the labelled ventures (F1 on out-of-fold predictions;
codes with fewer than ``min_positives`` positive ventures keep the zero-shot threshold).

Venture level (single-label codebooks such as a sector taxonomy, or labels without evidence):
a logistic regression over the venture's TF-IDF (word 1-2 grams), its mean sentence embedding
and its zero-shot decision values; multinomial for single-label codebooks (the predicted code
is the argmax), one-vs-rest with cross-validated thresholds for multi-label ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from simap.batches import SUGGESTION_COLUMNS
from simap.codebook.schema import Codebook
from simap.coding.zeroshot import ZeroShotCoder, codebook_training_set, sigmoid
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


def _folds(ids: list[str], k: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(ids)))
    return [[ids[i] for i in order[f::k]] for f in range(k)]


class SupervisedCoder(ZeroShotCoder):
    """Learns from human decisions; see the module docstring."""

    name = "supervised"

    def __init__(
        self,
        embedder: Embedder,
        *,
        level: str = "auto",
        label_weight: float = 1.0,
        negative_weight: float = 0.3,
        folds: int = 5,
        min_positives: int = 8,
        seed: int = 0,
        **zeroshot_params: Any,
    ) -> None:
        super().__init__(embedder, **zeroshot_params)
        self.level = level
        self.label_weight = label_weight
        self.negative_weight = negative_weight
        self.folds = folds
        self.min_positives = min_positives
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        return super().get_params() | {
            "coder": self.name,
            "level": self.level,
            "label_weight": self.label_weight,
            "folds": self.folds,
            "min_positives": self.min_positives,
            "seed": self.seed,
        }

    # -- training -------------------------------------------------------------------------
    def fit(  # type: ignore[override]
        self,
        codebook: Codebook,
        corpus: list[str] | None = None,
        *,
        segments: pd.DataFrame | None = None,
        labels: pd.DataFrame | None = None,
        documents: pd.DataFrame | None = None,
    ) -> SupervisedCoder:
        """Fit on the codebook and the human ``labels`` (LABEL_COLUMNS) of ventures in ``segments``."""
        labels = labels if labels is not None else pd.DataFrame(columns=LABEL_COLUMNS)
        segments = segments if segments is not None else pd.DataFrame(columns=["venture_id", "text"])
        unknown = sorted(set(labels["code_id"]) - set(codebook.ids()))
        if unknown:
            raise InvalidInput(
                f"labels use codes that codebook {codebook.name!r} does not have: {unknown}.",
                field="code_id",
                hint="train with the codebook the decisions were made with",
            )
        level = self.level
        if level == "auto":
            level = "venture" if codebook.label_mode == "single" else "sentence"
        if level not in {"sentence", "venture"}:
            raise InvalidInput(
                f"level must be 'auto', 'sentence' or 'venture'; got {self.level!r}.",
                field="level",
                hint="use level='auto'",
            )
        self.level_ = level
        super().fit(codebook, corpus=corpus)
        self.prior_ = (self.weights_.copy(), self.biases_.copy())
        labelled = sorted(set(labels["venture_id"]) & set(segments["venture_id"]))
        self.n_labels_ = len(labelled)
        self.thresholds_ = np.full(len(self.code_ids_), self.threshold_, dtype=np.float32)
        self.cv_: dict[str, Any] = {}
        if not labelled:
            return self
        if level == "sentence":
            self._fit_sentence(segments, labels, labelled)
        else:
            self._fit_venture(segments, labels, labelled, documents)
        return self

    def _targets(self, labels: pd.DataFrame, ids: list[str]) -> np.ndarray:
        """(len(ids), n_codes): 1 accepted, 0 rejected, -1 no decision."""
        col = {c: j for j, c in enumerate(self.code_ids_)}
        row = {v: i for i, v in enumerate(ids)}
        out = np.full((len(ids), len(col)), -1, dtype=np.int8)
        for v, c, st in zip(labels["venture_id"], labels["code_id"], labels["status"], strict=True):
            if v in row and c in col:
                out[row[v], col[c]] = 1 if st == "accepted" else 0
        return out

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
                if (neg_only == 0).any():
                    texts.append(str(text))
                    rows.append(neg_only)
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

    # venture level -------------------------------------------------------------------------
    def _venture_features(self, segments: pd.DataFrame, ids: list[str], fit: bool) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        seg = segments[segments["venture_id"].isin(set(ids))]
        texts_by = seg.groupby("venture_id")["text"].apply(lambda s: " ".join(map(str, s)))
        texts = [texts_by.get(v, "") for v in ids]
        if fit:
            self.tfidf_ = TfidfVectorizer(
                ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=200_000
            )
            self.tfidf_.fit(texts)
        raw_emb: Any = self.embedder.embed(texts)
        emb = raw_emb.toarray() if sparse.issparse(raw_emb) else np.asarray(raw_emb)
        w, b = self.weights_, self.biases_
        self.weights_, self.biases_ = self.prior_
        prior = ZeroShotCoder.predict(self, seg).pivot(index="venture_id", columns="code_id", values="raw")
        self.weights_, self.biases_ = w, b
        z = prior.reindex(ids)[self.code_ids_].fillna(-5.0).to_numpy()
        return sparse.hstack(
            [self.tfidf_.transform(texts), sparse.csr_matrix(emb), sparse.csr_matrix(z / 4.0)]
        ).tocsr()

    def _fit_venture(
        self,
        segments: pd.DataFrame,
        labels: pd.DataFrame,
        labelled: list[str],
        documents: pd.DataFrame | None,
    ) -> None:
        from sklearn.linear_model import LogisticRegression

        targets = self._targets(labels, labelled)
        x = self._venture_features(segments, labelled, fit=True)
        single = self.codebook_.label_mode == "single"
        self.venture_models_: list[Any] = []
        if single:
            y = np.array([self.code_ids_[int(np.argmax(t))] if (t == 1).any() else "" for t in targets])
            keep = y != ""
            if len(set(y[keep])) < 2:
                raise InvalidInput(
                    "single-label training needs accepted codes of at least two classes.",
                    field="labels",
                    hint="code more ventures",
                )
            clf = LogisticRegression(C=10.0, max_iter=3000).fit(x[np.flatnonzero(keep)], y[keep])
            self.venture_models_ = [clf]
        else:

            def fit_code(rows: np.ndarray, j: int) -> Any:
                yj = targets[rows, j] == 1
                if yj.sum() < 2 or (~yj).sum() < 2:
                    return None
                return LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000).fit(x[rows], yj)

            known = [np.flatnonzero(targets[:, j] >= 0) for j in range(len(self.code_ids_))]
            self.venture_models_ = [fit_code(known[j], j) for j in range(len(self.code_ids_))]
            # per-code thresholds from out-of-fold decision values
            k = min(self.folds, len(labelled))
            oof = np.full(targets.shape, np.nan, dtype=np.float32)
            fold_of = np.arange(len(labelled)) % k if k >= 2 else np.zeros(len(labelled), int)
            np.random.default_rng(self.seed).shuffle(fold_of)
            for f in range(k if k >= 2 else 0):
                train_rows = np.flatnonzero(fold_of != f)
                test_rows = np.flatnonzero(fold_of == f)
                for j in range(len(self.code_ids_)):
                    m = fit_code(np.intersect1d(train_rows, known[j]), j)
                    if m is not None:
                        oof[test_rows, j] = m.decision_function(x[test_rows])
            self._choose_thresholds(oof, targets)
            self.thresholds_ = np.where(
                np.isin(self.code_ids_, list(self.cv_.get("per_code", {}))), self.thresholds_, 0.0
            ).astype(np.float32)

    # -- predicting -----------------------------------------------------------------------
    def thresholds(self) -> np.ndarray:
        if not hasattr(self, "thresholds_"):
            raise NotFitted("SupervisedCoder must be fitted before predicting.", hint="call .fit(...)")
        return self.thresholds_

    def predict(self, segments: pd.DataFrame) -> pd.DataFrame:
        if getattr(self, "level_", "sentence") == "sentence" or not getattr(self, "venture_models_", None):
            return super().predict(segments)
        if len(segments) == 0:
            return pd.DataFrame(columns=SUGGESTION_COLUMNS)
        ids = list(pd.unique(segments["venture_id"]))
        x = self._venture_features(segments, ids, fit=False)
        base = super().predict(segments).set_index(["venture_id", "code_id"])
        raw = np.zeros((len(ids), len(self.code_ids_)), dtype=np.float32)
        if self.codebook_.label_mode == "single":
            clf = self.venture_models_[0]
            proba = clf.predict_proba(x)
            cols = {c: i for i, c in enumerate(clf.classes_)}
            for j, c in enumerate(self.code_ids_):
                raw[:, j] = proba[:, cols[c]] if c in cols else 0.0
            best = raw.argmax(axis=1)
            score = np.zeros_like(raw)
            score[np.arange(len(ids)), best] = np.maximum(raw[np.arange(len(ids)), best], 0.5)
            for j in range(len(self.code_ids_)):
                other = best != j
                score[other, j] = np.minimum(raw[other, j], 0.49)
        else:
            for j, m in enumerate(self.venture_models_):
                raw[:, j] = (
                    m.decision_function(x)
                    if m is not None
                    else base["raw"].unstack().reindex(ids)[self.code_ids_[j]].to_numpy() - self.threshold_
                )
            score = sigmoid(raw - self.thresholds_)
        rows = []
        for i, v in enumerate(ids):
            for j, c in enumerate(self.code_ids_):
                ev = base.loc[(v, c), "evidence"] if (v, c) in base.index else []
                rows.append((v, c, float(score[i, j]), float(raw[i, j]), ev))
        return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)
