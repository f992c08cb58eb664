"""Content checks for the two built-in codebooks (social-innovation and sdg)."""

from __future__ import annotations

import re

import pytest

import simap.codebook as codebook

SI_KINDS = {
    "DP1": "design_principle",
    "DP2": "design_principle",
    "DP3": "design_principle",
    "DP4": "design_principle",
    "DP5": "design_principle",
    "B1": "barrier",
    "B2": "barrier",
    "B3": "barrier",
    "B4": "barrier",
    "C1": "challenge",
    "C2": "challenge",
    "C3": "challenge",
    "C4": "challenge",
    "C5": "challenge",
}
SDG_IDS = [f"SDG{i}" for i in range(1, 18)]
CUE = re.compile(r"^[a-z0-9][a-z0-9 '&+./-]*\*?$")


@pytest.fixture(scope="module")
def si() -> codebook.Codebook:
    return codebook.load("social-innovation")


@pytest.fixture(scope="module")
def sdg() -> codebook.Codebook:
    return codebook.load("sdg")


def test_both_are_listed_as_builtin() -> None:
    names = codebook.builtin_names()
    assert "social-innovation" in names
    assert "sdg" in names


def test_default_codebook_is_social_innovation(si: codebook.Codebook) -> None:
    assert codebook.load().version == si.version


def test_social_innovation_header(si: codebook.Codebook) -> None:
    assert si.name == "social-innovation"
    assert si.title
    assert si.description
    assert si.label_mode == "multi"
    assert si.kinds == ["design_principle", "barrier", "challenge"]


def test_social_innovation_has_exactly_the_14_codes(si: codebook.Codebook) -> None:
    assert [c.id for c in si.codes] == list(SI_KINDS)
    for c in si.codes:
        assert c.kind == SI_KINDS[c.id], c.id
        assert not c.retired
        assert c.name and c.definition


def test_social_innovation_examples(si: codebook.Codebook) -> None:
    for c in si.codes:
        minimum = 12 if c.kind == "challenge" else 20
        assert len(c.examples) >= minimum, (c.id, len(c.examples))
        assert len(c.counter_examples) >= 8, (c.id, len(c.counter_examples))
        assert 3 <= len(c.include) <= 6, c.id
        assert 3 <= len(c.exclude) <= 5, c.id
        for sentence in c.examples:
            assert 3 <= len(sentence.split()) <= 30, (c.id, sentence)  # short phrasings are welcome


def test_social_innovation_solutions(si: codebook.Codebook) -> None:
    for c in si.codes:
        if c.kind in ("barrier", "challenge"):
            assert len(c.solutions) >= 3, (c.id, len(c.solutions))
        else:
            assert 1 <= len(c.solutions) <= 2, (c.id, len(c.solutions))
        for s in c.solutions:
            assert s.title and s.description and s.why, (c.id, s.title)
            assert s.prerequisites, (c.id, s.title)
            assert s.example_ventures, (c.id, s.title)


def test_social_innovation_related_links(si: codebook.Codebook) -> None:
    related = {c.id: set(c.related) for c in si.codes}
    # The expected map: DP5 and DP4 answer B2; DP1 and DP3 answer B3;
    # DP4 answers B1 and B4; DP2 underpins all barriers.
    assert "B2" in related["DP5"] and "B2" in related["DP4"]
    assert "B3" in related["DP1"] and "B3" in related["DP3"]
    assert {"B1", "B4"} <= related["DP4"]
    assert {"B1", "B2", "B3", "B4"} <= related["DP2"]
    for c in si.codes:
        assert c.id not in related[c.id], c.id


def test_sdg_codebook(sdg: codebook.Codebook) -> None:
    assert sdg.name == "sdg"
    assert sdg.label_mode == "multi"
    assert sdg.kinds == ["sdg"]
    assert [c.id for c in sdg.codes] == SDG_IDS
    for c in sdg.codes:
        assert c.kind == "sdg"
        assert c.name and c.definition and c.include and c.exclude, c.id
        assert len(c.examples) >= 12, (c.id, len(c.examples))
        assert len(c.counter_examples) >= 5, (c.id, len(c.counter_examples))
        assert 8 <= len(c.cues) <= 15, (c.id, len(c.cues))
    assert sdg.code("SDG1").name == "No poverty"
    assert sdg.code("SDG17").name == "Partnerships for the goals"


@pytest.mark.parametrize("name", ["social-innovation", "sdg"])
def test_cues_are_lower_case_short_phrases(name: str) -> None:
    cb = codebook.load(name)
    for c in cb.codes:
        if name == "social-innovation":
            assert 8 <= len(c.cues) <= 20, (c.id, len(c.cues))
        assert len(set(c.cues)) == len(c.cues), c.id
        for cue in c.cues:
            assert cue == cue.lower(), (c.id, cue)
            assert cue == cue.strip(), (c.id, cue)
            assert CUE.match(cue), (c.id, cue)
            assert "*" not in cue[:-1], (c.id, cue)
            assert 1 <= len(cue.rstrip("*").split()) <= 4, (c.id, cue)


@pytest.mark.parametrize("name", ["social-innovation", "sdg"])
def test_no_sentence_is_both_example_and_counter_example(name: str) -> None:
    cb = codebook.load(name)
    positives = {e for c in cb.codes for e in c.examples}
    negatives = {e for c in cb.codes for e in c.counter_examples}
    assert not positives & negatives
    for c in cb.codes:
        assert len(set(c.examples)) == len(c.examples), c.id


@pytest.mark.parametrize("name", ["social-innovation", "sdg"])
def test_version_is_stable(name: str) -> None:
    first = codebook.load(name)
    second = codebook.load(name)
    assert re.fullmatch(r"[0-9a-f]{12}", first.version)
    assert first.version == second.version


@pytest.mark.parametrize("name", ["social-innovation", "sdg"])
def test_dump_round_trip_keeps_version(name: str) -> None:
    import yaml

    cb = codebook.load(name)
    again = codebook.from_dict(yaml.safe_load(codebook.dump(cb, "yaml")))
    assert again.version == cb.version
