"""Missing and multi-country data (issue 12 item 8): the list filter and the map count a venture
in each country it names, the share without a country is reported, graphs never say "nan",
"countries not reached" ranks by relevance."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from simap.maps import breakdown
from simap.maps.geo import country_coverage, population
from simap.pipeline import Project
from simap.store.browse import VentureFilter, facets, list_ventures

VENTURES = [
    {"id": "a", "name": "Alpha", "countries": ["Kenya"], "text": "Farmers share data openly."},
    {"id": "b", "name": "Beta", "countries": ["Uganda", "Kenya"], "text": "Clinics collect survey data."},
    {"id": "c", "name": "Gamma", "countries": ["KEN"], "text": "A wiki written by volunteers."},
    {"id": "d", "name": "Delta", "text": "Open lessons anyone can reuse."},
    {"id": "e", "name": "Epsilon", "countries": ["Tanzania", "Republic of Kenya"], "text": "Mobile money."},
]


@pytest.fixture
def proj(tmp_path: Path, database: str):
    """On SQLite, and on PostgreSQL when SIMAP_TEST_DATABASE_URL is set."""
    src = tmp_path / "v.jsonl"
    src.write_text("".join(json.dumps(v) + "\n" for v in VENTURES), encoding="utf-8")
    p = Project.open(database)
    p.import_path(src)
    p.code(embedder="fake")
    yield p
    p.close()


def test_list_filter_and_map_agree_on_multi_country_ventures(proj: Project) -> None:
    landscape = proj.build_map()
    counts = breakdown.country_counts(landscape, proj.current_codebook()).set_index("country")
    page = list_ventures(proj.store, VentureFilter(country="Kenya"))
    # before: the list matched the first country only (a, c as "KEN" failed too) and the map four
    assert page.total == int(counts.loc["Kenya", "ventures"]) == 4
    assert {r["id"] for r in page.rows} == {"a", "b", "c", "e"}
    assert list_ventures(proj.store, VentureFilter(country="KEN")).total == 4
    assert list_ventures(proj.store, VentureFilter(country="Tanzania")).total == 1
    assert list_ventures(proj.store, VentureFilter(country="Peru")).total == 0
    menu = facets(proj.store)["countries"]
    assert menu.count("Kenya") == 1 and {"Uganda", "Tanzania"} <= set(menu) and "KEN" not in menu


def test_share_without_country_is_reported(proj: Project, tmp_path: Path) -> None:
    landscape = proj.build_map()
    cov = country_coverage(landscape.countries)
    assert cov == {"ventures": 5, "without_country": 1, "share_without": 0.2, "multi_country": 2}
    html = proj.write_report(tmp_path / "r.html").read_text(encoding="utf-8")
    text = " ".join(html.split())
    assert "1 of the 5 ventures (20%) name no country" in text  # the key findings
    assert "1 of the 5 ventures (20.0%) name no country" in text  # the geography section


def test_graphs_never_write_nan_countries(proj: Project, tmp_path: Path) -> None:
    from simap.maps.network import venture_network, write_graph

    landscape = proj.build_map()
    assert landscape.ventures["country"].isna().any()  # venture d: NaN in the frame
    graph = venture_network(landscape)
    assert graph.nodes["d"]["country"] == ""
    assert graph.nodes["b"]["country"] == "Uganda;Kenya"
    for fmt in ("graphml", "gexf"):
        text = write_graph(graph, tmp_path / f"g.{fmt}").read_text(encoding="utf-8")
        assert '"nan"' not in text and ">nan<" not in text


def test_countries_not_reached_rank_by_peers_then_population() -> None:
    from simap.advise.portfolio import _contexts

    # rows: ventures; one barrier column, all facing it
    countries = [["Tuvalu"], ["Nigeria"], ["Aland Islands"], ["India"], ["Kenya"], ["Kenya"], ["Ghana"]]
    index = SimpleNamespace(
        countries=countries,
        sectors=[[] for _ in countries],
        matrix=np.ones((len(countries), 1), dtype=bool),
        col_of={"B1": 0},
        kind_ids=lambda kind: ["B1"] if kind == "barrier" else [],
    )
    gaps = _contexts(index, [6], "country")  # the portfolio reaches Ghana only
    names = [g.value for g in gaps]
    # Kenya has two peers; then by population; tiny territories with one peer are left out
    assert names == ["Kenya", "India", "Nigeria"]
    assert gaps[1].population == population("India") > 1_000_000_000


def test_population_table_is_offline_and_covers_countries() -> None:
    assert population("Kenya") > 40_000_000 and population("Tuvalu") < 100_000
    assert population("Palestine") > 1_000_000 and population("nowhere at all") == 0
