"""The ensemble coder: the project's learned coder and an LLM coder, combined.

Two ways to combine them (``mode``):

- ``gate`` (default, agreement gating): where both coders say a code is present it is suggested
  (score: the higher of the two); where both say absent it is absent; where they disagree the
  suggestion is stored as ``abstained``, the review queue asks about it first and it does not count
  on the map until a reviewer accepts it. Scores in between are the mean of the two.
- ``stack``: per code, a logistic regression over the learned coder's out-of-fold margin and the
  LLM's verdict, fitted on the labelled ventures (the learned coder's calibration data; the LLM's
  answers on them come from its cache after the first run). Codes with fewer than
  ``min_positives`` positives fall back to gating.

The evidence is the LLM's exact quotes (with their rationale) first, then the learned coder's
sentences. Provenance: the coder key names both coders; ``get_params`` holds both parameter sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simap.batches import SUGGESTION_COLUMNS
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput

MODES = ("gate", "stack")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


class EnsembleCoder:
    """See the module docstring."""

    name = "ensemble"
    needs_documents = True

    def __init__(
        self,
        learned: Any,
        llm: Any,
        *,
        learned_key: str = "supervised",
        mode: str = "gate",
        min_positives: int = 8,
        ventures: pd.DataFrame | None = None,
    ) -> None:
        if mode not in MODES:
            raise InvalidInput(
                f"ensemble mode must be one of {list(MODES)}; got {mode!r}.",
                field="mode",
                hint="use mode='gate' (agreement gating) or 'stack'",
            )
        self.learned = learned
        self.llm = llm
        self.learned_key = learned_key
        self.mode = mode
        self.min_positives = min_positives
        self.ventures = ventures
        self.progress: Any = None
        self.store: Any = None
        self.stack_: dict[str, tuple[float, float, float]] = {}

    @classmethod
    def from_project(
        cls, store: Any, *, mode: str = "gate", min_positives: int = 8, **llm_params: Any
    ) -> EnsembleCoder:
        """The project's trained coder (``simap train``) and an LLM coder configured as for
        ``--coder llm``; fitted later, by :meth:`fit`, to the codebook being coded."""
        from simap.coding.llm import LLMCoder

        if store is None:
            raise InvalidInput("the ensemble coder needs a project.", hint="code through simap code")
        coder = cls(None, LLMCoder.from_project(store, **llm_params), mode=mode, min_positives=min_positives)
        coder.store = store
        return coder

    @property
    def key(self) -> str:
        return f"ensemble:{self.mode}:{self.learned_key}+{self.llm.key}"

    def get_params(self) -> dict[str, Any]:
        learned = self.learned.get_params() if self.learned is not None else {}
        return {
            "coder": self.name,
            "mode": self.mode,
            "min_positives": self.min_positives,
            "learned": {"key": self.learned_key, **learned},
            "llm": self.llm.get_params(),
            "stacked_codes": sorted(self.stack_),
        }

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, codebook: Codebook, corpus: list[str] | None = None) -> EnsembleCoder:
        store = self.store
        if self.learned is None:
            from simap.coding.training import load_trained
            from simap.store import repo

            self.learned, run = load_trained(store, codebook)
            self.learned.cache = None
            self.learned_key = f"supervised:{self.learned.embedder.key}:run{run}"
            self.ventures = repo.load_ventures(store)
        self.llm.fit(codebook)
        self.code_ids_ = [c.id for c in codebook.active_codes]
        if self.mode == "stack":
            self._fit_stack(store)
        return self

    def _fit_stack(self, store: Any) -> None:
        from simap.store import repo

        oof = getattr(self.learned, "oof_scores_", None)
        ids = getattr(self.learned, "labelled_ids_", None)
        if oof is None or ids is None or store is None:
            raise InvalidInput(
                "mode 'stack' needs the learned coder's out-of-fold scores on its labelled ventures.",
                field="mode",
                hint="re-run `simap train` with this version of simap, or use mode 'gate'",
            )
        llm = self.llm.predict(
            repo.load_segments(store, list(ids)), documents=repo.load_documents(store, list(ids))
        )
        verdict = llm.pivot(index="venture_id", columns="code_id", values="raw").reindex(index=ids)
        targets = self.learned.oof_targets_
        from sklearn.linear_model import LogisticRegression

        for j, code in enumerate(self.learned.code_ids_):
            if code not in verdict.columns:
                continue
            known = targets[:, j] >= 0
            y = targets[known, j] == 1
            if y.sum() < self.min_positives or (~y).sum() < self.min_positives:
                continue
            x = np.c_[_logit(oof[known, j]), verdict[code].fillna(0.0).to_numpy()[known]]
            model = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
            self.stack_[code] = (
                float(model.coef_[0, 0]),
                float(model.coef_[0, 1]),
                float(model.intercept_[0]),
            )

    def estimate(self, segments: pd.DataFrame, documents: pd.DataFrame | None = None) -> Any:
        """The LLM's share of the cost (the learned coder's is negligible)."""
        return self.llm.estimate(segments, documents)

    def run_stats(self) -> dict[str, Any]:
        return self.llm.run_stats() if hasattr(self.llm, "run_stats") else {}

    # -- predicting ------------------------------------------------------------------------
    def predict(self, segments: pd.DataFrame, documents: pd.DataFrame | None = None) -> pd.DataFrame:
        if len(segments) == 0:
            return pd.DataFrame(columns=[*SUGGESTION_COLUMNS, "status"])
        ids = list(pd.unique(segments["venture_id"]))
        context = None
        if self.ventures is not None and len(self.ventures):
            context = self.ventures[self.ventures["id"].isin(set(ids))]
        self.llm.progress = self.progress
        a = (
            self.learned.predict(segments, ventures=context)
            if context is not None
            else self.learned.predict(segments)
        )
        b = self.llm.predict(segments, documents=documents)
        merged = a.merge(b, on=["venture_id", "code_id"], how="left", suffixes=("_learned", "_llm"))
        s_l = merged["score_learned"].to_numpy(dtype=np.float64)
        s_m = merged["score_llm"].fillna(0.0).to_numpy(dtype=np.float64)
        yes_l, yes_m = s_l >= 0.5, s_m >= 0.5
        score = np.where(yes_l & yes_m, np.maximum(s_l, s_m), (s_l + s_m) / 2)
        status = np.where(yes_l != yes_m, "abstained", "suggested")
        if self.stack_:
            codes = merged["code_id"].to_numpy()
            for code, (w_l, w_m, bias) in self.stack_.items():
                sel = codes == code
                z = w_l * _logit(s_l[sel]) + w_m * merged["raw_llm"].fillna(0.0).to_numpy()[sel] + bias
                score[sel] = 1 / (1 + np.exp(-z))
                status[sel] = "suggested"
        evidence = [
            [*(e_m if isinstance(e_m, list) else []), *(e_l if isinstance(e_l, list) else [])]
            for e_m, e_l in zip(merged["evidence_llm"], merged["evidence_learned"], strict=True)
        ]
        return pd.DataFrame(
            {
                "venture_id": merged["venture_id"],
                "code_id": merged["code_id"],
                "score": score,
                "raw": merged["raw_learned"].to_numpy(dtype=np.float64),
                "evidence": evidence,
                "status": status,
            }
        )
