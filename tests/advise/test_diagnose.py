"""diagnose() end to end on a small coded project (fake embedder; codes set by hand)."""

from __future__ import annotations

import json

import pytest

from simap.advise import Advisor, Diagnosis, diagnose
from simap.errors import InvalidInput, NotFound

# min_score 0.99: the fake embedder's machine suggestions never count, the hand-set codes do
STRICT = 0.99
ANSWERS = {
    "name": "HealthBridge",
    "countries": ["Kenya"],
    "sectors": ["Health"],
    "b2_data_chain": "yes",
    "c1_hiring": 5,
    "c1_detail": "Our last developer left for a bank.",
    "c2_grant_share": "none",
}


def test_diagnosis_from_answers(advice_project) -> None:
    d = diagnose(advice_project, answers=ANSWERS, min_score=STRICT)
    assert isinstance(d, Diagnosis)
    assert d.name == "HealthBridge" and d.countries == ["Kenya"]
    assert [c.code_id for c in d.barriers] == ["B2"]
    assert {c.code_id for c in d.challenges} == {"C1", "C2"}
    assert d.focus_barriers == ["B2"]
    recs = {r.code_id: r for r in d.recommendations}
    assert recs["DP5"].recommended and recs["DP5"].support[0].n_both == 4
    # peers: face B2, use a recommended principle, not in Kenya + Health
    assert d.peers and all(p.venture_id not in {"v1", "v4", "v10"} for p in d.peers)
    assert all(p.different_context for p in d.peers)
    assert {s.code_id for s in d.solutions} >= {"B2", "C1", "C2"}
    ids = [e.id for e in d.evidence_items()] + [
        e.id for p in d.peers for e in (p.barrier_evidence, p.principle_evidence) if e
    ]
    assert len(ids) == len(set(ids)) and all(ids)
    assert json.loads(d.model_dump_json())["map"]["n_ventures"] == 10


def test_text_is_coded_with_the_project_coder(advice_project) -> None:
    advisor = Advisor(advice_project, min_score=0.01)
    d = advisor.diagnose("We collect survey data in the field. Volunteers write a wiki.")
    assert d.map.coder and d.map.coder.startswith("zeroshot:fake")
    coded = d.barriers + d.principles + d.challenges
    assert coded and all(c.sources == ["text"] for c in coded)
    ev = coded[0].evidence[0]
    assert ev.source == "text" and ev.field == "description"
    assert d.text is not None and d.text[ev.start : ev.end] == ev.text
    assert advisor.coder() is advisor.coder()  # fitted once


def test_a_venture_of_the_map_is_left_out_of_its_own_advice(advice_project) -> None:
    advisor = Advisor(advice_project, min_score=STRICT)
    d = advisor.diagnose(venture_id="v2", answers={"b2_data_chain": "yes"})
    assert d.name == "CropWatch" and d.countries == ["India"]
    assert all(p.venture_id != "v2" for p in d.peers)
    dp5 = next(r for r in d.recommendations if r.code_id == "DP5")
    assert (dp5.support[0].n_both, dp5.support[0].n_barrier) == (3, 5)
    with pytest.raises(NotFound):
        advisor.diagnose(venture_id="nope")


def test_no_barrier_says_what_to_do(advice_project) -> None:
    d = diagnose(advice_project, answers={"c1_hiring": 5}, min_score=STRICT)
    assert d.focus_barriers == [] and not d.peers
    assert any("questionnaire" in n for n in d.notes)
    assert [s.code_id for s in d.solutions] == ["C1"] * len(d.solutions)


def test_nothing_to_diagnose_is_invalid_input(advice_project) -> None:
    with pytest.raises(InvalidInput, match="needs a description"):
        diagnose(advice_project)
