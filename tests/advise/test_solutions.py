"""The consulting solutions library of the built-in codebook."""

from __future__ import annotations

import pytest

from simap import codebook as cb
from simap.advise.landscape import AdviceIndex
from simap.advise.solutions import solutions
from simap.errors import InvalidInput


def test_every_barrier_and_challenge_has_considered_solutions() -> None:
    book = cb.load("social-innovation")
    for code in book.active_codes:
        if code.kind not in ("barrier", "challenge"):
            continue
        assert len(code.solutions) >= 3, code.id
        titles = [s.title for s in code.solutions]
        assert len(set(titles)) == len(titles), code.id
        for s in code.solutions:
            assert s.why and s.prerequisites and s.example_ventures, f"{code.id}: {s.title}"
            assert len(s.description.split()) >= 10, f"{code.id}: {s.title}"


def test_filter_order_and_unknown_codes() -> None:
    book = cb.load("social-innovation")
    items = solutions(book, ["C3", "B2"])
    assert items[0].code_id == "C3" and {i.code_id for i in items} == {"C3", "B2"}
    costs = [i.cost for i in items if i.code_id == "B2"]
    assert costs == sorted(costs, key=["low", "medium", "high"].index)
    assert {i.kind for i in solutions(book, kinds=["challenge"])} == {"challenge"}
    with pytest.raises(InvalidInput, match="B9"):
        solutions(book, ["B9"])


def test_example_ventures_on_the_map_get_their_ids(index: AdviceIndex) -> None:
    index.by_name["kobotoolbox"] = "v1"
    items = solutions(index.codebook, ["B2"], index=index)
    kobo = next(i for i in items if "KoboToolbox" in i.example_ventures)
    assert kobo.example_ids == {"KoboToolbox": "v1"}
