"""Docs that cannot drift: the CLI reference is generated, and every backend is documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (ROOT / "docs" / "cli.md").read_text() == mod.render(), "run: python docs/gen_cli.py"


def test_every_backend_is_in_the_architecture_doc() -> None:
    from simap.coding import coders
    from simap.embed import embedders
    from simap.embed.index import indexes
    from simap.ingest import readers

    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for reg in (readers, embedders, coders, indexes):
        for name in reg.names():
            assert f"`{name}`" in text, (
                f"{reg.kind} backend {name!r} is not documented in docs/ARCHITECTURE.md"
            )


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    head = text[: text.index("make test") + 20]
    assert "make demo" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()
