"""Scoring units: a sentence, its clauses and short word windows, with character offsets.

Venture descriptions are terse and pack several ideas into one sentence, while the evidence a
reviewer highlights is often a phrase ("delivered through community health workers"). Scoring
clauses and ~10-word windows as well as whole sentences lets a phrase match a short example
without being diluted by the rest of its sentence.
"""

from __future__ import annotations

import re

CLAUSE_BREAK = re.compile(
    r"[,;:()\u2013\u2014]|\s(?:and|which|that|while|so that|by|through|with|where|who|whereby)\s",
    re.IGNORECASE,
)
WORD = re.compile(r"\S+")

WINDOW = 10
STRIDE = 5
MIN_WORDS = 3


def unit_spans(text: str, mode: str = "clauses") -> list[tuple[int, int]]:
    """Spans (start, end) into ``text``: always the whole text first, then clauses and windows."""
    spans = [(0, len(text))]
    if mode == "sentence":
        return spans
    seen = {spans[0]}
    pos = 0
    pieces: list[tuple[int, int]] = []
    for m in CLAUSE_BREAK.finditer(text):
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, len(text)))
    if len(pieces) > 1:
        for a, b in pieces:
            chunk = text[a:b]
            stripped = chunk.strip()
            if len(stripped.split()) < MIN_WORDS:
                continue
            a2 = a + (len(chunk) - len(chunk.lstrip()))
            span = (a2, a2 + len(stripped))
            if span not in seen:
                seen.add(span)
                spans.append(span)
    words = [(m.start(), m.end()) for m in WORD.finditer(text)]
    if len(words) > WINDOW + 2:
        for i in range(0, len(words) - WINDOW + 1, STRIDE):
            span = (words[i][0], words[i + WINDOW - 1][1])
            if span not in seen:
                seen.add(span)
                spans.append(span)
    return spans
