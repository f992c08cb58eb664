"""Sentence segmenter: offsets, abbreviations, boundaries, long sentences, property test."""

from __future__ import annotations

import pandas as pd
import pytest

from simap.errors import InvalidInput
from simap.ingest import MAX_CHARS, segment_documents, split_sentences


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Founded by Dr. Smith in the U.S. in 2010. It helps farmers, e.g. with loans.",
            ["Founded by Dr. Smith in the U.S. in 2010.", "It helps farmers, e.g. with loans."],
        ),
        ("See No. 5 and p. 12 for details. Then stop.", ["See No. 5 and p. 12 for details.", "Then stop."]),
        (
            "Acme Inc. sells tools, i.e. hammers. Cats vs. Dogs.",
            ["Acme Inc. sells tools, i.e. hammers.", "Cats vs. Dogs."],
        ),
        ("We sell tools, etc. The end.", ["We sell tools, etc.", "The end."]),
        ("Prices rose 3.5 percent. Next.", ["Prices rose 3.5 percent.", "Next."]),
        (
            "Visit www.example.org/a.b or mail info@acme.co.ke. Thanks.",
            ["Visit www.example.org/a.b or mail info@acme.co.ke.", "Thanks."],
        ),
        ("Wait... then it worked. Really?! Yes.", ["Wait... then it worked.", "Really?!", "Yes."]),
        ("It ended… Then more.", ["It ended…", "Then more."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        (
            "J. R. R. Tolkien wrote. The U.K. Government agreed.",
            ["J. R. R. Tolkien wrote.", "The U.K. Government agreed."],
        ),
    ],
)
def test_sentence_rules(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected
    check_spans(text, split_sentences(text))


def test_newlines_and_bullets_are_boundaries() -> None:
    text = "Our services:\n- Housing support\n- food bank\n\nHeading\nBody • one • two"
    assert sentences(text) == [
        "Our services:",
        "- Housing support",
        "- food bank",
        "Heading",
        "Body",
        "• one",
        "• two",
    ]


def test_soft_wrapped_line_is_joined_and_offsets_point_into_the_original() -> None:
    text = "Body text that wraps\nacross lines. Next one.\n\nnew paragraph."
    spans = split_sentences(text)
    assert sentences(text) == ["Body text that wraps\nacross lines.", "Next one.", "new paragraph."]
    check_spans(text, spans)


def test_numbered_list_items() -> None:
    assert sentences("1. First item\n2. Second item. More.") == ["1. First item", "2. Second item.", "More."]


def test_long_sentence_is_cut_at_semicolon_then_comma_then_space() -> None:
    clause = "we train young people in coding and design"
    text = "; ".join([clause] * 20) + "."
    parts = sentences(text)
    assert len(parts) > 1
    assert all(len(p) <= MAX_CHARS for p in parts)
    assert all(p.endswith(";") for p in parts[:-1])
    commas = ", ".join([clause] * 20)
    assert all(p.endswith(",") for p in sentences(commas)[:-1])
    words = " ".join(["word"] * 300)
    assert all(len(p) <= MAX_CHARS for p in sentences(words))
    blob = "x" * 1000
    assert "".join(sentences(blob)) == blob


def test_whitespace_only_and_empty() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []
    assert split_sentences("  Hi.  ") == [(2, 5)]


def test_segment_documents_columns_and_offsets() -> None:
    docs = pd.DataFrame(
        {
            "venture_id": ["a", "a", "b"],
            "field": ["mission", "program", "text"],
            "text": ["One. Two.", "Three.", ""],
        }
    )
    seg = segment_documents(docs)
    assert list(seg.columns) == ["venture_id", "field", "seq", "start", "end", "text"]
    assert seg[["venture_id", "field", "seq", "text"]].values.tolist() == [
        ["a", "mission", 0, "One."],
        ["a", "mission", 1, "Two."],
        ["a", "program", 0, "Three."],
    ]
    by_doc = {(v, f): t for v, f, t in docs.itertuples(index=False)}
    for row in seg.itertuples(index=False):
        assert by_doc[(row.venture_id, row.field)][row.start : row.end] == row.text
    assert str(seg["start"].dtype) == "int64"


def test_segment_documents_empty_and_bad_input() -> None:
    empty = segment_documents(pd.DataFrame({"venture_id": [], "field": [], "text": []}))
    assert len(empty) == 0 and list(empty.columns) == ["venture_id", "field", "seq", "start", "end", "text"]
    with pytest.raises(InvalidInput, match="missing text"):
        segment_documents(pd.DataFrame({"venture_id": ["a"], "field": ["f"]}))
