"""Property tests of the sentence segmenter (hypothesis)."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis", reason="hypothesis is a dev dependency: pip install -e '.[dev]'")

from hypothesis import given, settings
from hypothesis import strategies as st

from simap.ingest import MAX_CHARS, split_sentences


def check_spans(text: str, spans: list[tuple[int, int]]) -> None:
    """Spans are non-empty, stripped, ordered, disjoint, at most MAX_CHARS, and cover all non-space text."""
    prev_end = 0
    for start, end in spans:
        assert prev_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        assert end - start <= MAX_CHARS
        assert text[prev_end:start].strip() == ""  # only whitespace between spans
        prev_end = end
    assert text[prev_end:].strip() == ""


TOKENS = [
    "word",
    "Word",
    "e.g.",
    "U.S.",
    "Dr.",
    "No.",
    "3.5",
    "www.x.org",
    "a@b.co",
    "...",
    "…",
    ".",
    "?",
    "!",
    ";",
    ",",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    "•",
    "- ",
    "1.",
    "(",
    ")",
    '"',
    "x" * 50,
    "\u00a0",
    "\u2028",
]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(TOKENS), max_size=80).map("".join), st.text(max_size=300)))
def test_property_offsets_cover_all_non_space_text(text: str) -> None:
    spans = split_sentences(text)
    check_spans(text, spans)
    assert all(text[s:e] == text[s:e].strip() and text[s:e] for s, e in spans)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["word ", "Word. ", "x" * 90 + " ", ", ", "; "]), min_size=20, max_size=60))
def test_property_long_texts_respect_max_chars(parts: list[str]) -> None:
    text = "".join(parts)
    check_spans(text, split_sentences(text))
