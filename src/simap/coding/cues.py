"""Lexical cues: short phrases in a codebook that are strong evidence on their own."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np


def cue_pattern(cues: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive regex for a list of phrases; a trailing ``*`` is a prefix wildcard."""
    parts = []
    for cue in cues:
        cue = cue.strip().lower()
        if not cue:
            continue
        wildcard = cue.endswith("*")
        words = cue.rstrip("*").split()
        body = r"[\s-]+".join(re.escape(w) for w in words)
        parts.append(r"\b" + body + (r"\w*" if wildcard else r"\b"))
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def cue_hits(texts: Sequence[str], patterns: Sequence[re.Pattern[str] | None]) -> np.ndarray:
    """A (len(texts), len(patterns)) 0/1 matrix: does text i contain a cue of code j."""
    out = np.zeros((len(texts), len(patterns)), dtype=np.float32)
    for j, pat in enumerate(patterns):
        if pat is None:
            continue
        search = pat.search
        for i, text in enumerate(texts):
            if search(text):
                out[i, j] = 1.0
    return out


def unit_cue_hits(
    texts: Sequence[str],
    owner: Sequence[int],
    spans: Sequence[tuple[int, int]],
    patterns: Sequence[re.Pattern[str] | None],
) -> np.ndarray:
    """Cue hits for units (sub-spans of ``texts``): a unit has a cue when a match lies inside it.

    Each text is searched once per pattern, instead of once per unit.
    """
    out = np.zeros((len(owner), len(patterns)), dtype=np.float32)
    matches: list[list[list[tuple[int, int]]]] = [
        [[m.span() for m in pat.finditer(t)] if pat is not None else [] for pat in patterns] for t in texts
    ]
    for u, (i, (a, b)) in enumerate(zip(owner, spans, strict=True)):
        for j, found in enumerate(matches[i]):
            for ms, me in found:
                if a <= ms and me <= b:
                    out[u, j] = 1.0
                    break
    return out
