"""`simap diagnose` on a founder's own words: the bench texts not tuned on (bench/data/diagnose_texts.yaml,
held-out and fresh splits, written by us) with the static embedder, the founder-voice reading, and
the rule that a recommended principle is always backed by a quoted peer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from simap import codebook as cb
from simap.advise.diagnose import _back_with_peers
from simap.advise.recommend import find_peers, recommend_principles
from simap.advise.voice import founder_voice, load_voice, third_person, with_founder_examples

ROOT = Path(__file__).resolve().parents[2]
RECALL_TARGET = 0.8  # issue 11, item 6
HELDOUT_FLOOR = 0.79  # measured 0.793 on the held-out texts (docs/benchmarks.md); a regression guard


# -- no model needed ---------------------------------------------------------------------------
def test_third_person_rewrites_pronouns_and_keeps_the_us() -> None:
    assert third_person("Honestly, we train our students.") == "The organisation train its students."
    assert (
        third_person("I'm sure they can't pay us.")
        == "The organisation is sure they cannot pay the organisation."
    )
    assert "US" in third_person("We work in the US.")
    assert third_person("Nothing personal here.") == "Nothing personal here."


def test_a_bad_voice_rule_is_invalid_input() -> None:
    from simap.errors import InvalidInput

    with pytest.raises(InvalidInput, match="regular expression"):
        load_voice({"rules": [{"pattern": "(", "replace": ""}]})


def test_founder_examples_extend_a_copy_of_the_codebook_only() -> None:
    book = cb.load("social-innovation")
    before = book.version
    more = with_founder_examples(book)
    assert book.version == before and more is not book
    data = founder_voice()
    for code in book.active_codes:
        extra = data["examples"].get(code.id, [])
        assert more.code(code.id).examples == [*code.examples, *extra]
    assert set(data["neutral"]) <= set(more.active_codes[0].counter_examples)
    other = cb.load("sdg")
    assert with_founder_examples(other) is other


def test_a_recommendation_without_a_quoted_peer_is_to_explore(index) -> None:
    # B1: only OpenStack4Good (DP4) faces it; DP2 is linked to B1 by the codebook but no venture shows it
    recs = recommend_principles(index, ["B1"])
    assert {r.code_id for r in recs if r.recommended} >= {"DP4", "DP2"}
    chosen = [r.code_id for r in recs if r.recommended]
    peers = find_peers(index, ["B1"], chosen, countries=["Kenya"], sectors=["Health"])
    recs, peers = _back_with_peers(
        index, recs, peers, ["B1"], countries=["Kenya"], sectors=["Health"], exclude=[], k=5
    )
    by_id = {r.code_id: r for r in recs}
    assert by_id["DP4"].recommended and not by_id["DP4"].to_explore
    assert not by_id["DP2"].recommended and by_id["DP2"].to_explore
    backed = {p.principle for p in peers if p.principle_evidence and p.principle_evidence.text}
    assert {r.code_id for r in recs if r.recommended} <= backed


# -- the bench texts, static embedder ------------------------------------------------------------
@pytest.fixture(scope="module")
def bench_result(tmp_path_factory):
    from simap.embed.models import default_static_path

    if not (default_static_path() / "config.json").exists():
        pytest.skip(f"no static model at {default_static_path()}; run `simap models distill` once")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import diagnose_quality as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    texts = [t for t in bench.load_texts() if t["split"] != "tune"]
    project = bench.build_map(tmp_path_factory.mktemp("diagnose-bench") / "map.db")
    try:
        yield bench.run_setting(project, texts, "static")
    finally:
        project.close()


def test_the_bench_has_enough_first_person_texts() -> None:
    import yaml

    texts = yaml.safe_load((ROOT / "bench" / "data" / "diagnose_texts.yaml").read_text())["texts"]
    assert len(texts) >= 20 and len({t["id"] for t in texts}) == len(texts)
    assert {t["split"] for t in texts} == {"tune", "heldout", "fresh"}
    book = cb.load("social-innovation")
    for t in texts:
        assert t["expected"] and all(book.code(c) for c in t["expected"])
        assert len(t["text"].split(". ")) >= 3 and any(
            w in t["text"].split() for w in ("I", "We", "we", "our")
        )


def test_recall_on_texts_not_tuned_on(bench_result) -> None:
    # measured: held-out + fresh 0.824 (42 of 51 codes), fresh alone 0.864, held-out alone 0.793
    unseen, heldout, fresh = (bench_result[k] for k in ("unseen", "heldout", "fresh"))
    assert heldout["texts"] >= 16 and fresh["texts"] >= 16
    assert unseen["recall"] >= RECALL_TARGET, unseen
    assert fresh["recall"] >= RECALL_TARGET, fresh
    assert heldout["recall"] >= HELDOUT_FLOOR, heldout


@pytest.mark.xfail(reason="held-out split alone: recall 0.793 with the static embedder (23 of 29 codes)")
def test_heldout_split_alone_meets_the_target(bench_result) -> None:
    assert bench_result["heldout"]["recall"] >= RECALL_TARGET


def test_every_recommended_principle_has_a_quoted_peer(bench_result) -> None:
    assert bench_result["diagnoses_with_unsupported_recommendation"] == 0
    for t in bench_result["texts"]:
        assert not t["unsupported"], t


def test_diagnose_cli_text_options(advice_project) -> None:
    """--text-min-score and --max-text-codes reach the diagnosis (fake embedder, no model)."""
    import json

    from typer.testing import CliRunner

    from simap.cli import app

    db = advice_project.store.url.replace("sqlite:///", "")
    text = "We collect survey data in the field. Volunteers write a wiki. I train girls to code."
    args = ["diagnose", "-p", db, "--text", text, "--json", "-q", "--text-min-score", "0.01"]
    result = CliRunner().invoke(app, [*args, "--max-text-codes", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["text_min_score"] == 0.01 and d["max_text_codes"] == 2
    assert len(d["barriers"] + d["principles"] + d["challenges"]) == 2
    assert all(not r["recommended"] or not r["to_explore"] for r in d["recommendations"])
