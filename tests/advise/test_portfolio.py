"""The grantmaker view on a hand-made map."""

from __future__ import annotations

from pathlib import Path

import pytest

from simap.advise.landscape import AdviceIndex
from simap.advise.portfolio import funder_angles, portfolio_report, read_ids
from simap.errors import InvalidInput, NotFound


def test_coverage_against_the_landscape(index: AdviceIndex) -> None:
    report = portfolio_report(index, ["v1", "v2", "v6", "v6"])
    assert report.venture_ids == ["v1", "v2", "v6"] and report.n_landscape == 10
    cov = {c.code_id: c for c in report.coverage}
    assert (cov["B2"].n_portfolio, cov["B2"].n_landscape) == (2, 6)
    assert cov["B2"].share_portfolio == pytest.approx(2 / 3)
    assert cov["B2"].ratio == pytest.approx((2 / 3) / 0.6)
    assert cov["B2"].ventures == ["v1", "v2"]
    assert cov["B4"].ratio is None


def test_white_space_and_contexts(index: AdviceIndex) -> None:
    report = portfolio_report(index, ["v1", "v2"])
    ws = {w.barrier: w for w in report.white_space}
    assert set(ws) == {"B1", "B2", "B3"}  # B4 is on no venture
    b2 = ws["B2"]
    assert b2.n_landscape == 6 and "DP5" in b2.working_principles
    assert b2.n_portfolio == 2 and b2.n_answered_portfolio == 2
    assert b2.example is not None and b2.example.venture_id not in {"v1", "v2"}
    assert report.white_space == sorted(report.white_space, key=lambda w: -w.gap)
    countries = {g.value for g in report.countries}
    assert "Kenya" not in countries and "India" not in countries and {"Peru", "Brazil"} <= countries
    assert "Health" not in {g.value for g in report.sectors}


def test_challenges_are_funding_opportunities(index: AdviceIndex) -> None:
    report = portfolio_report(index, ["v6", "v5"])
    opp = {o.code_id: o for o in report.opportunities}
    assert list(opp) == ["C1", "C2", "C3", "C4", "C5"]
    assert opp["C1"].n_portfolio == 1 and opp["C2"].n_portfolio == 0 and opp["C2"].n_landscape == 1
    assert opp["C1"].funder_angle == funder_angles()["C1"]
    assert opp["C1"].solutions and opp["C1"].evidence[0].venture_id == "v6"
    ids = [w.example.id for w in report.white_space if w.example] + [
        e.id for o in report.opportunities for e in o.evidence
    ]
    assert len(ids) == len(set(ids)) and all(i.startswith("Q") for i in ids)


def test_unknown_ids(index: AdviceIndex) -> None:
    report = portfolio_report(index, ["v1", "nope"])
    assert report.missing_ids == ["nope"] and "nope" in report.notes[0]
    with pytest.raises(NotFound):
        portfolio_report(index, ["nope"])
    with pytest.raises(InvalidInput):
        portfolio_report(index, [" "])


def test_read_ids(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("id,name\n# funded in 2024\nv1,FieldForms\n\n v2 \n")
    assert read_ids(path) == ["v1", "v2"]
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(InvalidInput):
        read_ids(tmp_path / "empty.txt")
    with pytest.raises(NotFound):
        read_ids(tmp_path / "missing.txt")
