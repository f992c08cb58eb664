from __future__ import annotations

import io

from rich.console import Console

from simap.maps.analytics import build_map
from simap.maps.terminal import render_map, share_bar


def test_render_map_prints_codes_and_cooccurrence(mk, codebook) -> None:
    ventures = mk.ventures(["v1", "v2", "v3"])
    ventures.loc[0, "name"] = "[bold]not markup[/bold]"
    assignments = mk.assignments(
        [mk.row("v1", "DP1"), mk.row("v1", "B1"), mk.row("v2", "DP2"), mk.row("v3", "C1")]
    )
    landscape = build_map(ventures, assignments, codebook)
    out = io.StringIO()
    render_map(landscape, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    for cid in codebook.ids():
        assert cid in text
    assert "X9" not in text  # retired
    assert "Co-occurrence" in text
    assert "1 (3.0)" in text  # DP1 x B1: 1 venture, lift 3 * 1 / (1 * 1)
    assert "3 ventures" in text


def test_render_map_without_cooccurrence(mk) -> None:
    from simap.codebook.schema import Codebook

    book = Codebook.model_validate(
        {"name": "x", "codes": [{"id": "T1", "kind": "topic", "name": "t", "definition": "d"}]}
    )
    landscape = build_map(mk.ventures(["v1"]), mk.assignments([mk.row("v1", "T1")]), book)
    console = Console(record=True, width=160, file=io.StringIO())
    render_map(landscape, console)
    text = console.export_text()
    assert "T1" in text and "No co-occurrence table" in text


def test_share_bar() -> None:
    assert share_bar(0.0, 10) == " " * 10
    assert share_bar(1.0, 10) == "█" * 10
    assert share_bar(0.5, 10).startswith("█████") and len(share_bar(0.33, 10)) == 10
