"""Integrity checks for the demo corpus shipped in ``simap.demo``."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from simap.demo import GOLD_PATH, VENTURES_PATH, load_gold, load_gold_records, load_ventures

CODES = ["DP1", "DP2", "DP3", "DP4", "DP5", "B1", "B2", "B3", "B4", "C1", "C2", "C3", "C4", "C5"]
VENTURE_FIELDS = {"id", "name", "description", "country", "sector", "year", "website"}


def _lines(path):
    with path.open("r", encoding="utf-8") as fh:
        return [line for line in fh if line.strip()]


@pytest.fixture(scope="module")
def ventures():
    return {v["id"]: v for v in load_ventures()}


@pytest.fixture(scope="module")
def gold_records():
    return load_gold_records()


@pytest.mark.parametrize("path", [VENTURES_PATH, GOLD_PATH], ids=["ventures", "gold"])
def test_every_line_parses_as_object(path):
    lines = _lines(path)
    assert lines, f"{path} is empty"
    for i, line in enumerate(lines, start=1):
        obj = json.loads(line)
        assert isinstance(obj, dict), f"{path} line {i} is not a JSON object"


def test_venture_count_in_range():
    n = len(_lines(VENTURES_PATH))
    assert 35 <= n <= 50, n


def test_venture_ids_unique_and_fields_present():
    records = load_ventures()
    ids = [v["id"] for v in records]
    assert len(ids) == len(set(ids)), [i for i, c in Counter(ids).items() if c > 1]
    for v in records:
        missing = VENTURE_FIELDS - v.keys()
        assert not missing, (v.get("id"), missing)
        assert isinstance(v["year"], int) and 1900 < v["year"] <= 2030, v["id"]
        assert isinstance(v["description"], str) and len(v["description"].split()) >= 60, v["id"]
        assert v["website"].startswith("https://"), v["id"]
        if "interview" in v:
            assert isinstance(v["interview"], str) and v["interview"].strip(), v["id"]


def test_gold_ids_unique_and_known(ventures, gold_records):
    ids = [g["id"] for g in gold_records]
    assert len(ids) == len(set(ids))
    unknown = set(ids) - ventures.keys()
    assert not unknown, unknown
    # every venture is coded (possibly with no codes)
    assert set(ids) == set(ventures)


def test_gold_codes_valid_and_evidenced(ventures, gold_records):
    for g in gold_records:
        assert all(c in CODES for c in g["codes"]), (g["id"], g["codes"])
        assert len(g["codes"]) == len(set(g["codes"])), g["id"]
        assert set(g["evidence"]) == set(g["codes"]), (g["id"], "evidence keys must match codes")


def test_evidence_quotes_are_exact_substrings(ventures, gold_records):
    for g in gold_records:
        v = ventures[g["id"]]
        texts = [v["description"], v.get("interview", "")]
        for code, quote in g["evidence"].items():
            assert isinstance(quote, str) and quote.strip(), (g["id"], code)
            assert any(quote in t for t in texts), (g["id"], code, quote)


def test_every_code_appears_at_least_three_times(gold_records):
    counts = Counter(c for g in gold_records for c in g["codes"])
    low = {c: counts[c] for c in CODES if counts[c] < 3}
    assert not low, low


def test_interviews_exist_for_challenge_codes(ventures, gold_records):
    interviews = [v for v in ventures.values() if v.get("interview")]
    assert 8 <= len(interviews) <= 12
    for g in gold_records:
        for code in g["codes"]:
            if code.startswith("C"):
                assert g["evidence"][code] in ventures[g["id"]].get("interview", ""), (g["id"], code)


def test_load_gold_returns_sets(ventures):
    gold = load_gold()
    assert set(gold) == set(ventures)
    assert all(isinstance(codes, set) for codes in gold.values())
    assert gold["ushahidi"] >= {"DP5"}
    assert gold["khan-academy"] == set()


def test_load_gold_accepts_plain_paths(tmp_path):
    p = tmp_path / "gold.jsonl"
    p.write_text('{"id": "a", "codes": ["DP1", "B3"], "evidence": {}}\n\n{"id": "b", "codes": []}\n')
    assert load_gold(p) == {"a": {"DP1", "B3"}, "b": set()}
    assert load_gold(str(p)) == {"a": {"DP1", "B3"}, "b": set()}
