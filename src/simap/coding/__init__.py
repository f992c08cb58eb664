"""Coding: machine suggestions of codes for ventures, with evidence and a calibrated score.

Every coder is a factory in the ``coders`` registry. Called with ``store`` and ``codebook`` (what
:meth:`simap.pipeline.Project.code` does for ``--coder NAME``), a factory returns a coder ready to
predict for that project; without them it returns an unfitted coder (``.fit(codebook)``).
"""

from __future__ import annotations

from typing import Any

from simap.coding.base import Coder
from simap.registry import Registry

coders: Registry[Any] = Registry("coders")


@coders.register("zeroshot", help="sentence-level similarity to codebook anchors + cues, codebook-calibrated")
def _zeroshot(store: Any = None, codebook: Any = None, **params: Any) -> Any:
    if store is not None and codebook is not None:
        # the project's embedder by name, its embedding cache, a TF-IDF corpus when needed
        from simap.pipeline import Project

        return Project(store).make_coder(codebook, **params)
    from simap.coding.zeroshot import ZeroShotCoder

    coder = ZeroShotCoder(**params)
    return coder.fit(codebook) if codebook is not None else coder


@coders.register("supervised", help="the model `simap train` learnt from this project's decisions")
def _supervised(store: Any = None, codebook: Any = None, **params: Any) -> Any:
    from simap.errors import InvalidInput

    if store is None or codebook is None:
        raise InvalidInput(
            "coder 'supervised' is the model `simap train` saved in a project; it needs the project "
            "and the codebook it was trained for.",
            field="coder",
            hint="use coders.create('supervised', store=project.store, codebook=book), or "
            "simap.coding.supervised.SupervisedCoder to train one yourself",
        )
    from simap.coding.training import load_trained

    coder, train_run = load_trained(store, codebook)
    coder.cache = None
    coder.run_key = f"supervised:{coder.embedder.key}:run{train_run}"
    return coder


@coders.register(
    "llm", help="a chat model at an OpenAI-compatible endpoint (Ollama, llama.cpp, vLLM), quotes checked"
)
def _llm(store: Any = None, codebook: Any = None, **params: Any) -> Any:
    from simap.coding.llm import LLMCoder

    coder = LLMCoder.from_project(store, **params)
    return coder.fit(codebook) if codebook is not None else coder


@coders.register(
    "ensemble",
    help="the trained coder (simap train) and the llm coder: agreement gating (disagreements left "
    "for review) or stacking",
)
def _ensemble(store: Any = None, codebook: Any = None, **params: Any) -> Any:
    from simap.coding.ensemble import EnsembleCoder

    coder = EnsembleCoder.from_project(store, **params)
    return coder.fit(codebook) if codebook is not None else coder


__all__ = ["Coder", "coders"]
