"""`simap report`, `simap export views`, `simap discover` and `simap codebook promote` on the demo corpus."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from simap.cli import app
from simap.demo import VENTURES_PATH

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_discover_promote_recode_report(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    invoke("import", str(VENTURES_PATH), "-p", db)
    invoke("code", "-p", db, "--embedder", "fake", "--workers", "1")
    themes = tmp_path / "themes.json"
    out = invoke(
        "discover",
        "-p",
        db,
        "--embedder",
        "fake",
        "--max-score",
        "0.6",
        "--out",
        str(themes),
        "--min-ventures",
        "2",
    )
    assert "Emerging themes" in out and themes.exists()
    found = json.loads(themes.read_text())
    assert found["themes"], "the demo corpus should give at least one theme"
    book = tmp_path / "plus.yaml"
    out = invoke(
        "codebook", "promote", str(themes), "--theme", found["candidates"][0]["id"], "--out", str(book)
    )
    assert "Codebook written" in out
    invoke("code", "-p", db, "--embedder", "fake", "--workers", "1", "--codebook", str(book))
    html = tmp_path / "r" / "map.html"
    out = invoke(
        "report",
        "-p",
        db,
        "--out",
        str(html),
        "--no-pdf",
        "--themes",
        str(themes),
        "--exports",
        str(tmp_path / "views"),
    )
    assert html.exists() and "Exported" in out
    assert found["candidates"][0]["id"] in html.read_text()
    out = invoke(
        "export",
        "views",
        "-p",
        db,
        "--out",
        str(tmp_path / "v2"),
        "--tables",
        "csv",
        "--charts",
        "svg",
        "--graphs",
        "gexf",
    )
    assert (tmp_path / "v2" / "tables" / "prevalence_by_region.csv").exists()
    assert (tmp_path / "v2" / "graphs" / "ventures.gexf").exists()
