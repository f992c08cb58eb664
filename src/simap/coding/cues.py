"""Lexical cues: short phrases in a codebook that are strong evidence on their own."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

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


SEPARATOR = "\x00"  # between texts scanned as one string: not a word character, space or hyphen


def _trie_regex(cue_lists: Sequence[Sequence[str]]) -> re.Pattern[str] | None:
    """One case-sensitive regex matching, at some position, exactly where a cue of any list matches
    (lowercase text): the cues as a prefix tree, so each position tries a branch or two instead of
    every cue in turn (Python's ``re`` does not factor alternations itself)."""
    sep, wild, end = "\x01sep", "\x01wild", "\x01end"
    trie: dict[str, Any] = {}
    for cues in cue_lists:
        for cue in cues:
            cue = cue.strip().lower()
            words = cue.rstrip("*").split()
            if not words:
                continue
            tokens: list[str] = []
            for k, word in enumerate(words):
                if k:
                    tokens.append(sep)
                tokens.extend(word)
            tokens.append(wild if cue.endswith("*") else end)
            node = trie
            for tok in tokens:
                node = node.setdefault(tok, {})
    if not trie:
        return None
    piece = {sep: r"[\s-]+", wild: r"\w*", end: r"\b"}

    def emit(node: dict[str, Any]) -> str:
        alts = [(piece[tok] if tok in piece else re.escape(tok)) + emit(node[tok]) for tok in sorted(node)]
        if len(alts) <= 1:
            return "".join(alts)
        return "(?:" + "|".join(alts) + ")"

    return re.compile(r"\b" + emit(trie))


class CueSet:
    """The lexical cues of a list of codes, matched the way :func:`cue_pattern` defines.

    ``spans``/``hits``/``unit_hits`` give the same results as searching every text with every
    code's pattern, faster: ASCII texts are lowercased (for ASCII, the patterns' IGNORECASE is
    exactly a lowercase match) and scanned as one string with a prefix tree of all cues; only the
    few texts with a match are then searched code by code.
    """

    def __init__(self, cue_lists: Sequence[Sequence[str]]) -> None:
        self.cue_lists = [list(c) for c in cue_lists]
        self.patterns = [cue_pattern(c) for c in self.cue_lists]
        self._cased = [None if p is None else re.compile(p.pattern) for p in self.patterns]
        self._any = _trie_regex(self.cue_lists)

    def __getstate__(self) -> dict[str, Any]:
        return {"cue_lists": self.cue_lists}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["cue_lists"])  # type: ignore[misc]

    def spans(self, texts: Sequence[str]) -> dict[int, list[list[tuple[int, int]]]]:
        """{text index: match spans per code} for the texts with any match."""
        if self._any is None:
            return {}
        candidates: set[int] = set()
        ascii_idx: list[int] = []
        other: set[int] = set()  # searched with the original (case-insensitive) patterns
        for i, text in enumerate(texts):
            if text.isascii() and SEPARATOR not in text:
                ascii_idx.append(i)
            else:
                other.add(i)
        candidates.update(other)
        lowered = [texts[i].lower() for i in ascii_idx]
        starts = np.cumsum([0] + [len(t) + 1 for t in lowered])
        found_at = [m.start() for m in self._any.finditer(SEPARATOR.join(lowered))]
        if found_at:
            owners = np.searchsorted(starts, np.asarray(found_at), side="right") - 1
            candidates.update(ascii_idx[k] for k in set(owners.tolist()))
        out: dict[int, list[list[tuple[int, int]]]] = {}
        for i in sorted(candidates):
            text, use = (texts[i], self.patterns) if i in other else (texts[i].lower(), self._cased)
            found = [[m.span() for m in p.finditer(text)] if p is not None else [] for p in use]
            if any(found):
                out[i] = found
        return out

    def hits(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), n_codes) 0/1 matrix: does text i contain a cue of code j."""
        out = np.zeros((len(texts), len(self.patterns)), dtype=np.float32)
        for i, found in self.spans(texts).items():
            for j, spans in enumerate(found):
                if spans:
                    out[i, j] = 1.0
        return out

    def unit_hits(
        self, texts: Sequence[str], owner: Sequence[int], spans: Sequence[tuple[int, int]]
    ) -> np.ndarray:
        """Hits for units (sub-spans of ``texts``): a unit has a cue when a match lies inside it."""
        out = np.zeros((len(owner), len(self.patterns)), dtype=np.float32)
        matches = self.spans(texts)
        if not matches:
            return out
        own = np.asarray(owner, dtype=np.int64)
        for u in np.flatnonzero(np.isin(own, np.fromiter(matches, dtype=np.int64))):
            a, b = spans[int(u)]
            for j, found in enumerate(matches[int(own[u])]):
                if any(a <= ms and me <= b for ms, me in found):
                    out[u, j] = 1.0
        return out
