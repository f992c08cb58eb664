"""Principles from the map's co-occurrence, the popularity baseline, and peers in other contexts."""

from __future__ import annotations

import pytest

from simap.advise.landscape import AdviceIndex
from simap.advise.recommend import find_peers, popular_principles, recommend_principles


def test_index_contexts_and_quotes(index: AdviceIndex) -> None:
    row = index.row("v1")
    assert index.countries[row] == ["Kenya"] and index.sectors[row] == ["Health"]
    assert index.codes_of(row) == {"B2", "DP5"}
    quote = index.quote(row, "DP5")
    assert quote is not None and quote.text == "FieldForms shows DP5." and quote.venture_id == "v1"
    assert index.find_by_name("fieldforms") == "v1"


def test_principles_ranked_by_share_of_peers_with_support_and_lift(index: AdviceIndex) -> None:
    recs = recommend_principles(index, ["B2"], prior_weight=0.0)
    assert [r.code_id for r in recs][:2] == ["DP5", "DP4"]
    dp5 = recs[0]
    (support,) = dp5.support
    # 6 ventures face B2; 4 of them use DP5; DP5 is used by 4 of 10 ventures overall
    assert (support.n_both, support.n_barrier) == (4, 6)
    assert support.share == pytest.approx(4 / 6)
    assert support.lift == pytest.approx((4 / 6) / (4 / 10))
    assert dp5.recommended and dp5.expected  # the codebook links DP5 and B2
    assert [r.code_id for r in recs if r.recommended] == ["DP5", "DP4", "DP2"]


def test_used_principles_are_shown_not_recommended(index: AdviceIndex) -> None:
    recs = {r.code_id: r for r in recommend_principles(index, ["B2"], uses=["DP5"])}
    assert recs["DP5"].already_used and not recs["DP5"].recommended
    assert recs["DP4"].recommended


def test_exclude_leaves_a_venture_out_of_the_statistics(index: AdviceIndex) -> None:
    recs = recommend_principles(index, ["B2"], exclude=[index.row("v1")], prior_weight=0.0)
    assert recs[0].support[0].n_both == 3 and recs[0].support[0].n_barrier == 5


def test_codebook_links_carry_a_barrier_the_map_knows_little_about(index: AdviceIndex) -> None:
    # B4 is on no venture: only the method's expected links (DP4 and DP2 answer B4) recommend
    recs = recommend_principles(index, ["B4"])
    assert [r.code_id for r in recs if r.recommended] == ["DP4", "DP2"]  # DP4 is more common
    assert recs[0].code_id == "DP4" and recs[0].support[0].n_barrier == 0


def test_popularity_baseline(index: AdviceIndex) -> None:
    assert popular_principles(index)[:2] == ["DP5", "DP4"]
    assert popular_principles(index, exclude=[index.row("v1"), index.row("v3"), index.row("v10")])[0] == "DP4"


def test_peers_come_from_other_contexts_and_quote_their_evidence(index: AdviceIndex) -> None:
    peers = find_peers(index, ["B2"], ["DP5", "DP4"], countries=["Kenya"], sectors=["Health"], k=5)
    ids = [p.venture_id for p in peers]
    # v1, v4 and v10 share Kenya + Health: never peers; v2, v3, v5 are known different contexts
    assert set(ids) == {"v2", "v3", "v5"}
    assert all(p.different_context for p in peers)
    for p in peers:
        assert p.barrier == "B2" and p.principle in {"DP5", "DP4"}
        assert p.barrier_evidence is not None and p.principle_evidence is not None
        assert p.principle_evidence.text.endswith(f"{p.principle}.")
        assert "different" in p.contrast


def test_peers_prefer_diversity_and_respect_k(index: AdviceIndex) -> None:
    peers = find_peers(index, ["B2"], ["DP5", "DP4"], countries=["Chile"], k=2)
    assert len(peers) == 2
    assert len({p.principle for p in peers}) == 2  # a second principle before a second DP5 peer


def test_unknown_context_is_flagged_not_claimed(index: AdviceIndex) -> None:
    peers = find_peers(index, ["B1"], ["DP4"], countries=["Kenya"], k=5)
    assert [p.venture_id for p in peers] == ["v8"]
    assert not peers[0].different_context and "not comparable" in peers[0].contrast


def test_excluded_rows_and_empty_inputs(index: AdviceIndex) -> None:
    assert find_peers(index, [], ["DP5"]) == []
    assert find_peers(index, ["B2"], []) == []
    peers = find_peers(index, ["B3"], ["DP3", "DP1"], exclude=[index.row("v6")])
    assert [p.venture_id for p in peers] == ["v7"]
