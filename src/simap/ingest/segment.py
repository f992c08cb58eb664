"""A fast, dependency-free sentence segmenter that returns character offsets.

``split_sentences(text)`` returns ``(start, end)`` spans: each is stripped of surrounding
whitespace, non-empty, in order, non-overlapping, and together they cover every non-space character
of ``text`` (what lies between two spans is whitespace only). So ``text[start:end]`` is always the
sentence, and evidence offsets into the original text stay valid.

Rules, in short:

- ``. ! ? …`` (and runs such as ``...`` or ``?!``, with closing quotes/brackets) followed by
  whitespace end a sentence, unless the next word starts with a lower-case letter;
- a ``.`` does not end a sentence after an abbreviation (``e.g. i.e. Dr. Mr. vs. cf. approx.``),
  an initial (``J. Smith``), an initialism (``U.S. Ph.D.``), ``No. 5`` / ``p. 12`` before a number,
  or a list number at the start of a sentence (``1. First``); ``etc. Inc. Ltd.`` end a sentence
  when a capitalised word follows;
- decimals (``3.5``), URLs and e-mail addresses never split (no whitespace after the dot);
- a blank line always ends a sentence; a single line break does too, except for a soft wrap (the
  next line starts with a lower-case letter that is not a list marker, and the line does not end
  with ``:``); a bullet (``•`` ...) within a line starts a new sentence;
- sentences longer than ``MAX_CHARS`` are cut at the last ``;``, else ``,``, else space, before it.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from simap.batches import SEGMENT_COLUMNS
from simap.errors import InvalidInput

MAX_CHARS = 400
_MIN_PART = 100  # a cut of a long sentence leaves at least this many characters before it

_NL = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_NL_SET = frozenset(_NL)
_BULLETS = "•▪◦●■►‣⁃"
_CLOSERS = "\"'”’»)]"
_OPENERS = "\"'“‘«(["

_PUNCT = ".!?…"
_PUNCT_SET = frozenset(_PUNCT)
_BULLET_SET = frozenset(_BULLETS)
_CLOSER_SET = frozenset(_CLOSERS)
# Only these characters can start a boundary; everything else is skipped by the regex engine in C.
_CANDIDATE = re.compile(f"[{re.escape(_NL + _PUNCT + _BULLETS)}]")
_LIST_ITEM = re.compile(
    rf"(?:[-*+–—{re.escape(_BULLETS)}]|\(?[0-9]{{1,3}}[.)]|\(?[a-zA-Z][.)]|\(?[ivx]{{1,4}}[.)])\s"
)
_INITIALISM = re.compile(r"(?:[^\W\d_]{1,2}\.)+[^\W\d_]{1,2}")

# fmt: off
# never end a sentence after these (followed by anything but a lower-case word, which never splits)
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "st", "mt", "ft", "vs", "v", "cf", "viz", "approx",
    "ca", "e.g", "i.e", "a.k.a", "esp", "incl", "resp", "dept", "univ", "assn", "gen", "gov", "sen",
    "rep", "hon", "rev", "capt", "col", "lt", "sgt", "cpl", "maj", "adm", "cmdr", "messrs", "mme",
    "mlle", "fig", "figs", "eq", "ref", "refs", "vol", "vols", "ed", "eds", "al", "ave", "blvd",
    "rd",
})
# not a sentence end when a number follows: "No. 5", "p. 12", "Jan. 2020"
_NUMBER_ABBREVIATIONS = frozenset({
    "no", "nos", "nr", "p", "pp", "art", "arts", "sec", "ch", "para", "op", "approx", "ca", "fig",
    "figs", "eq", "vol", "vols", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec",
})
# fmt: on


def _line_break_splits(text: str, gap: str, prev_end: int, next_start: int) -> bool:
    """Whether the line break ``gap`` between ``text[:prev_end]`` and ``text[next_start:]`` splits."""
    if sum(1 for c in gap.replace("\r\n", "\n") if c in _NL_SET) >= 2:
        return True  # blank line
    if not text[next_start].islower() or _LIST_ITEM.match(text, next_start):
        return True
    return text[prev_end - 1] == ":"


def _period_splits(text: str, seg_start: int, dot: int, next_start: int) -> bool:
    """Whether a single ``.`` at ``dot``, followed by whitespace, ends a sentence."""
    i = dot
    limit = max(seg_start, dot - 40)
    while i > limit and not text[i - 1].isspace():
        i -= 1
    token = text[i:dot].lstrip(_OPENERS)
    if not token:
        return True
    low = token.lower()
    if low in _ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isalpha():
        return False  # an initial: "J. Smith"
    if "." in token and _INITIALISM.fullmatch(token):
        return False  # "U.S." "Ph.D." "e.g."
    nxt = text[next_start]
    if nxt.isdigit() and low in _NUMBER_ABBREVIATIONS:
        return False
    return not (token.isdigit() and len(token) <= 3 and i <= seg_start)  # "1. First item"


def _emit(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_CHARS:
        lo, hi = start + _MIN_PART, start + MAX_CHARS
        cut = -1
        for mark in ";,":
            j = text.rfind(mark, lo, hi)
            while j != -1 and not text[j + 1].isspace():
                j = text.rfind(mark, lo, j)
            if j != -1:
                cut = j + 1
                break
        if cut == -1:
            for j in range(hi, lo, -1):
                if text[j].isspace():
                    cut = j
                    break
            else:
                cut = hi
        first_end = cut
        while first_end > start and text[first_end - 1].isspace():
            first_end -= 1
        out.append((start, first_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        out.append((start, end))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of the sentences of ``text`` (see the module doc)."""
    out: list[tuple[int, int]] = []
    n = len(text)
    start = 0  # start of the current sentence: always a non-space character (or n)
    while start < n and text[start].isspace():
        start += 1
    pos = start
    search = _CANDIDATE.search
    while (m := search(text, pos)) is not None:
        i = m.start()
        ch = text[i]
        if ch in _PUNCT_SET:
            j = i + 1
            while j < n and text[j] in _PUNCT_SET:
                j += 1
            while j < n and text[j] in _CLOSER_SET:
                j += 1
            cut = pos = j
            if j >= n or not text[j].isspace():
                continue  # "3.5", "example.org", "a.b"
            while j < n and text[j].isspace():
                j += 1
            pos = j
            if j >= n:
                break
            gap = text[cut:j]
            if any(c in _NL_SET for c in gap):
                if not _line_break_splits(text, gap, cut, j):
                    continue
            else:
                nxt = text[j]
                if nxt in _OPENERS and j + 1 < n:
                    nxt = text[j + 1]
                if nxt.islower():
                    continue
                single_dot = ch == "." and (cut - i == 1 or text[i + 1] in _CLOSER_SET)  # not "..." or ".?"
                if single_dot and not _period_splits(text, start, i, j):
                    continue
        elif ch in _BULLET_SET:
            pos = i + 1
            if i == 0 or not text[i - 1].isspace():
                continue
            cut = i - 1
            while cut > start and text[cut - 1].isspace():
                cut -= 1
            if cut <= start:
                continue  # the bullet opens the current sentence
            j = i
        else:  # a line break
            j = i + 1
            while j < n and text[j].isspace():
                j += 1
            pos = j
            if j >= n:
                break
            cut = i
            while cut > start and text[cut - 1].isspace():
                cut -= 1
            if cut <= start:
                start = j  # leading whitespace
                continue
            if not _line_break_splits(text, text[cut:j], cut, j):
                continue
        _emit(text, start, cut, out)
        start = j
    _emit(text, start, n, out)
    return out


def segment_documents(documents: pd.DataFrame) -> pd.DataFrame:
    """SEGMENTS rows (venture_id, field, seq, start, end, text) for a DOCUMENTS frame.

    ``text == document_text[start:end]``; ``seq`` counts from 0 within each document.
    """
    missing = [c for c in ("venture_id", "field", "text") if c not in documents.columns]
    if missing:
        raise InvalidInput(
            "documents must have the DOCUMENTS columns venture_id, field, text; "
            f"got {list(documents.columns)} (missing {', '.join(missing)}).",
            field=missing[0],
            hint="pass IngestBatch.documents (see simap.batches.DOCUMENT_COLUMNS)",
        )
    vids: list[object] = []
    fields: list[object] = []
    seqs: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    texts: list[str] = []
    for vid, field, text in zip(documents["venture_id"], documents["field"], documents["text"], strict=True):
        if text is None or (isinstance(text, float) and math.isnan(text)):
            continue
        if not isinstance(text, str):
            raise InvalidInput(
                f"document text must be a string; got {type(text).__name__} for venture {vid!r}.",
                field=str(field),
                hint="pass IngestBatch.documents, whose text column holds strings",
            )
        for seq, (s, e) in enumerate(split_sentences(text)):
            vids.append(vid)
            fields.append(field)
            seqs.append(seq)
            starts.append(s)
            ends.append(e)
            texts.append(text[s:e])
    return pd.DataFrame(
        {
            "venture_id": pd.Series(vids, dtype="object"),
            "field": pd.Series(fields, dtype="object"),
            "seq": pd.Series(seqs, dtype="int64"),
            "start": pd.Series(starts, dtype="int64"),
            "end": pd.Series(ends, dtype="int64"),
            "text": pd.Series(texts, dtype="object"),
        },
        columns=SEGMENT_COLUMNS,
    )
