"""Coding: machine suggestions of codes for ventures, with evidence and a calibrated score."""

from __future__ import annotations

from typing import Any

from simap.coding.base import Coder
from simap.registry import Registry

coders: Registry[Any] = Registry("coders")


@coders.register("zeroshot", help="sentence-level similarity to codebook anchors + cues, codebook-calibrated")
def _zeroshot(**params: Any) -> Any:
    from simap.coding.zeroshot import ZeroShotCoder

    return ZeroShotCoder(**params)


@coders.register(
    "llm", help="a chat model at an OpenAI-compatible endpoint (Ollama, llama.cpp, vLLM), quotes checked"
)
def _llm(store: Any = None, **params: Any) -> Any:
    from simap.coding.llm import LLMCoder

    return LLMCoder.from_project(store, **params)


__all__ = ["Coder", "coders"]
