"""Undo of the last decision and evidence on rejected codes (issue 12, item 3), library side."""

from __future__ import annotations

import pytest
from tests.review.test_review_workbench import coded  # noqa: F401

from simap.errors import InvalidInput
from simap.review import actions
from simap.review.actions import Span
from simap.store import browse


def _mine(store, user="ana"):
    return {
        (r["venture_id"], r["code_id"]): r
        for r in browse.assignment_rows(store, ["a", "b"])
        if r["source"] == "human" and r["coder"] == user
    }


def test_undo_restores_the_decision_before(coded, tiny_codebook) -> None:  # noqa: F811
    actions.accept(coded, tiny_codebook, "a", "DATA", user="ana", memo="first")
    actions.reject(coded, tiny_codebook, "a", "DATA", user="ana")
    actions.accept(coded, tiny_codebook, "b", "OPEN", user="ana")
    assert actions.undo_last(coded, "ana")["venture_id"] == "b"  # the newest, anywhere
    assert ("b", "OPEN") not in _mine(coded)
    done = actions.undo_last(coded, "ana", "a")  # back from rejected to accepted
    assert done["code_id"] == "DATA" and _mine(coded)[("a", "DATA")]["status"] == "accepted"
    assert _mine(coded)[("a", "DATA")]["memo"] == "first"
    actions.undo_last(coded, "ana", "a")  # and then to no decision at all
    assert _mine(coded) == {}
    with pytest.raises(InvalidInput, match="no decision"):
        actions.undo_last(coded, "ana")
    assert [e["action"] for e in browse.venture_events(coded, "a")][:2] == ["code_undone", "code_undone"]


def test_evidence_is_not_attached_to_a_rejection(coded, tiny_codebook) -> None:  # noqa: F811
    actions.reject(coded, tiny_codebook, "a", "DATA", user="ana")
    with pytest.raises(InvalidInput, match="accept the code first"):
        actions.edit_span(coded, tiny_codebook, "a", "DATA", user="ana", spans=[Span("text", 0, 6)])
    assert _mine(coded)[("a", "DATA")]["evidence"] == []
