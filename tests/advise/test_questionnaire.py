"""The intake questionnaire: coverage of the codebook, answer validation, scoring, template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from simap import codebook as cb
from simap.advise.questionnaire import (
    answers_template,
    check_answers,
    context_answers,
    load_answers,
    questionnaire,
    score_answers,
    text_answers,
)
from simap.errors import InvalidInput, NotFound


def test_covers_every_code_of_the_builtin_codebook() -> None:
    form = questionnaire()
    assert form.code_ids() == set(cb.load("social-innovation").ids())
    challenges = {r.code for q in form.questions for r in q.codes if r.code.startswith("C")}
    assert challenges == {"C1", "C2", "C3", "C4", "C5"}


def test_blank_template_round_trips_to_no_answers() -> None:
    text = answers_template()
    data = yaml.safe_load(text)
    assert data["questionnaire"] == "simap-intake"
    assert check_answers(data) == {}
    assert score_answers(data) == []
    for q in questionnaire().questions:
        assert f"  {q.id}:" in text


def test_answers_map_to_codes_with_the_answer_as_evidence() -> None:
    answers = {
        "c1_hiring": 5,
        "c1_detail": "Two developers left for a bank.",
        "c2_grant_share": "A little",  # a label is accepted
        "c3_open_source": "4",  # confident: no C3
        "b2_data_chain": True,
        "dp3_inclusion": "women, refugees",
        "dp3_role": "creators",
    }
    codes = {c.code_id: c for c in score_answers(answers)}
    assert set(codes) == {"C1", "C2", "B2", "DP3"}
    c1 = codes["C1"]
    assert c1.score == pytest.approx(0.85) and c1.present and c1.sources == ["answer"]
    assert c1.evidence[0].question_id == "c1_hiring"
    assert c1.evidence[0].text == "5 of 5 (very hard): Two developers left for a bank."
    assert codes["C2"].evidence[0].answer == "A little"
    assert codes["DP3"].score == pytest.approx(0.85)  # the stronger rule, which requires dp3_inclusion
    assert [e.question_id for e in codes["DP3"].evidence] == ["dp3_role", "dp3_inclusion"]


def test_requires_blocks_a_rule_without_its_condition() -> None:
    codes = {c.code_id for c in score_answers({"dp5_decision_use": "routinely"})}
    assert "DP5" not in codes
    codes = {c.code_id for c in score_answers({"dp5_decision_use": "routinely", "dp5_citizen_data": "yes"})}
    assert "DP5" in codes


def test_no_answers_reverse_rules() -> None:
    codes = {c.code_id for c in score_answers({"c2_maintenance": "no", "b1_lock_in": "no"})}
    assert codes == {"C2"}


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"c1_hiring": 9}, "c1_hiring"),
        ({"c1_hiring": "very"}, "c1_hiring"),
        ({"b2_data_chain": "maybe"}, "b2_data_chain"),
        ({"c2_grant_share": "lots"}, "c2_grant_share"),
        ({"nonsense": "yes"}, "nonsense"),
    ],
)
def test_bad_answers_name_the_question(answers: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_answers(answers, source="a.yaml")
    assert exc.value.field == field
    assert "a.yaml" in str(exc.value)


def test_load_answers_json_and_nested(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"questionnaire": "simap-intake", "answers": {"countries": "Kenya, Uganda"}}))
    assert load_answers(path) == {"countries": ["Kenya", "Uganda"]}
    with pytest.raises(NotFound):
        load_answers(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(InvalidInput):
        load_answers(bad)


def test_context_and_text_answers() -> None:
    answers = {"name": "X", "sectors": ["Health"], "description": "We map.", "hardest": "Hiring."}
    assert context_answers(answers) == {"name": "X", "sectors": ["Health"], "description": "We map."}
    assert text_answers(answers) == {"hardest": "Hiring."}


def test_a_broken_questionnaire_file_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        "name: q\nversion: 1\ntitle: Q\nsections:\n  - id: s\n    title: S\n    questions:\n"
        "      - {id: a, type: choice, prompt: Which one}\n"
    )
    with pytest.raises(InvalidInput, match="needs options"):
        questionnaire(path)
