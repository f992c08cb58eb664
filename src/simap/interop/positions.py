"""Character positions in REFI-QDA files: which counting convention a file uses, and conversion.

The specification counts Unicode code points from 0 with an exclusive end, in the plain text
file. Tools differ (see ``docs/interop.md``):

* NVivo for Windows counts UTF-16 code units (an emoji is 2) and a CRLF line end as 2;
* ATLAS.ti writes CRLF into the .txt but counts each line end as 1;
* QualCoder writes the .txt with a byte order mark (BOM) that positions do not count.

simap keeps texts with LF line ends and no BOM, and positions as Python ``str`` offsets (code
points). :func:`detect` tries every convention on all selections of a file and keeps the one under
which the most selections match their quoted ``name`` and start and end on word boundaries; ties
go to the specification's reading. :func:`decode_text` turns a tool's .txt bytes into simap's text.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

BOM = "\ufeff"


@dataclass(frozen=True)
class Convention:
    """How a tool counted positions in one file."""

    utf16: bool = False  # count UTF-16 code units instead of code points
    crlf: int = 2  # a CRLF line end in the file counts as this many units (1 or 2)
    bom_counted: bool = False  # the leading BOM of the file counts as position 0

    @property
    def label(self) -> str:
        unit = "UTF-16 code units" if self.utf16 else "code points"
        parts = [unit, f"CRLF counted as {self.crlf}"]
        if self.bom_counted:
            parts.append("BOM counted")
        return ", ".join(parts)


SPEC = Convention()
"""The specification's reading: code points of the file as it is (a CRLF is 2 code points)."""

CANDIDATES: tuple[Convention, ...] = (
    SPEC,
    Convention(crlf=1),
    Convention(utf16=True, crlf=2),
    Convention(utf16=True, crlf=1),
    Convention(bom_counted=True),
    Convention(crlf=1, bom_counted=True),
    Convention(utf16=True, bom_counted=True),
    Convention(utf16=True, crlf=1, bom_counted=True),
)


@dataclass
class SourceText:
    """A tool's plain text, decoded: ``text`` (LF, no BOM) plus what the file had."""

    text: str
    crlf_after: list[int]  # indexes in ``text`` of "\n" characters that were CRLF in the file
    had_bom: bool

    def offsets(self, convention: Convention) -> list[int]:
        """``units[i]``: the position, under ``convention``, of the character ``text[i]`` (len+1 items)."""
        crlf = set(self.crlf_after)
        units = [0] * (len(self.text) + 1)
        at = 1 if (self.had_bom and convention.bom_counted) else 0
        for i, ch in enumerate(self.text):
            units[i] = at
            if i in crlf:
                at += convention.crlf
            elif convention.utf16 and ord(ch) > 0xFFFF:
                at += 2
            else:
                at += 1
        units[len(self.text)] = at
        return units


def decode_text(data: bytes) -> SourceText:
    """UTF-8 (with or without BOM; UTF-16 when it has a UTF-16 BOM) -> LF text without BOM."""
    had_bom = False
    if data.startswith(b"\xef\xbb\xbf"):
        had_bom, raw = True, data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        had_bom, raw = True, data.decode("utf-16", errors="replace")
    else:
        raw = data.decode("utf-8", errors="replace")
    if raw.startswith(BOM):  # a BOM after decoding UTF-16
        raw = raw[1:]
    out: list[str] = []
    crlf_after: list[int] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\r":
            if i + 1 < n and raw[i + 1] == "\n":
                crlf_after.append(len(out))
                i += 1
            out.append("\n")
        else:
            out.append(ch)
        i += 1
    return SourceText("".join(out), crlf_after, had_bom)


def to_index(units: Sequence[int], position: int) -> int:
    """The text index of a position (a position inside a character maps to that character's end)."""
    return bisect.bisect_left(units, position)


def _is_word(ch: str) -> bool:
    return ch.isalnum()


def on_boundary(text: str, i: int) -> bool:
    """True when index ``i`` is not inside a word."""
    if i <= 0 or i >= len(text):
        return True
    return not (_is_word(text[i - 1]) and _is_word(text[i]))


@dataclass(frozen=True)
class Selection:
    """What detection needs of one PlainTextSelection: its source, positions and quoted name."""

    source: str
    start: int
    end: int
    name: str | None = None


@dataclass
class Detection:
    convention: Convention
    checked: int  # selections with a text to check
    fitting: int  # of those, how many fit under the convention chosen
    scores: dict[str, int]  # label -> score, for every candidate that differs

    @property
    def summary(self) -> str:
        if not self.checked:
            return f"{self.convention.label} (the specification's; no selection to check)"
        return (
            f"{self.convention.label}: {self.fitting} of {self.checked} selections start and end on "
            "word boundaries or match their quote"
        )


def _quote_matches(found: str, name: str) -> bool:
    name = name.strip()
    if not name:
        return False
    found = found.strip()
    if found == name:
        return True
    if name.endswith(("...", "…")):  # ATLAS.ti cuts long quotes
        name = name.rstrip(".…").strip()
    return len(name) >= 10 and found.startswith(name)


def _fits(text: str, s: int, e: int, name: str | None) -> tuple[int, bool]:
    """(score, fits) of one selection mapped to text indexes s..e."""
    if not 0 <= s <= e <= len(text):
        return -2, False
    if name and _quote_matches(text[s:e], name):
        return 3, True
    fits = on_boundary(text, s) and on_boundary(text, e)
    return (1 if fits else 0), fits


def detect(texts: dict[str, SourceText], selections: Sequence[Selection]) -> Detection:
    """The convention under which the selections of one file fit their texts best."""
    relevant = [s for s in selections if s.source in texts]
    needed: list[Convention] = []
    any_crlf = any(t.crlf_after for t in texts.values())
    any_astral = any(any(ord(c) > 0xFFFF for c in t.text) for t in texts.values())
    any_bom = any(t.had_bom for t in texts.values())
    for conv in CANDIDATES:
        if conv.crlf == 1 and not any_crlf:
            continue
        if conv.utf16 and not any_astral:
            continue
        if conv.bom_counted and not any_bom:
            continue
        needed.append(conv)
    if not relevant or len(needed) == 1:
        fitting = 0
        if relevant:
            cache = {src: texts[src].offsets(SPEC) for src in {s.source for s in relevant}}
            for sel in relevant:
                units = cache[sel.source]
                fitting += _fits(
                    texts[sel.source].text, to_index(units, sel.start), to_index(units, sel.end), sel.name
                )[1]
        return Detection(SPEC, len(relevant), fitting, {})
    scores: dict[str, int] = {}
    best: tuple[int, int, int] | None = None
    chosen = SPEC
    chosen_fitting = 0
    for rank, conv in enumerate(needed):
        offsets = {src: texts[src].offsets(conv) for src in {s.source for s in relevant}}
        score = fitting = 0
        for sel in relevant:
            units = offsets[sel.source]
            sc, ok = _fits(
                texts[sel.source].text, to_index(units, sel.start), to_index(units, sel.end), sel.name
            )
            score += sc
            fitting += ok
        scores[conv.label] = score
        key = (score, fitting, -rank)
        if best is None or key > best:
            best, chosen, chosen_fitting = key, conv, fitting
    return Detection(chosen, len(relevant), chosen_fitting, scores)
