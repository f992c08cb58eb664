"""Re-importing a file with another mapping (issue 12, item 6): a re-import without the earlier
--map that would overwrite filled fields is refused (names replaced with ids), --update does it,
--dry-run shows what would change and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from simap.cli import app
from simap.errors import InvalidInput
from simap.ingest.mapping import FieldMapping
from simap.pipeline import Project
from simap.store import browse

runner = CliRunner()
CSV = (
    "id,name,organization,description,country\n"
    "k1,K-001,Field Survey Co,Health workers collect survey data on mobile phones.,Kenya\n"
    "k2,K-002,Open Lessons,Openly licensed lessons anyone can reuse.,India\n"
)
MAP = ["name=organization"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "orgs.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def _names(proj: Project) -> dict[str, str]:
    return browse.venture_names(proj.store, ["k1", "k2"])


def test_reimport_without_the_earlier_map_is_refused(project_path: Path, data: Path) -> None:
    with Project.open(project_path) as proj:
        proj.import_path(data, mapping=FieldMapping.parse_cli(MAP))
        assert _names(proj) == {"k1": "Field Survey Co", "k2": "Open Lessons"}
        with pytest.raises(InvalidInput) as err:
            proj.import_path(data)  # name is now the "name" column: the ids K-001, K-002
        message = str(err.value)
        assert "--map name=organization" in message and "'Field Survey Co' -> 'K-001'" in message
        assert "--update" in message and _names(proj) == {"k1": "Field Survey Co", "k2": "Open Lessons"}
        proj.import_path(data, mapping=FieldMapping.parse_cli(MAP))  # the same mapping: fine
        plan = proj.plan_import(data)
        assert plan.mapping_changed and {str(c) for c in plan.overwrites} == {
            "k1: name 'Field Survey Co' -> 'K-001'",
            "k2: name 'Open Lessons' -> 'K-002'",
        }
        proj.import_path(data, update=True)
        assert _names(proj) == {"k1": "K-001", "k2": "K-002"}
        proj.import_path(data)  # the mapping of the last import is now "none": no refusal


def test_cli_dry_run_and_refusal(project_path: Path, data: Path) -> None:
    db = str(project_path)
    env = {"COLUMNS": "200"}
    first = runner.invoke(app, ["import", str(data), "-p", db, "--map", MAP[0]], env=env)
    assert first.exit_code == 0, first.output
    dry = runner.invoke(app, ["import", str(data), "-p", db, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output and "K-001" in dry.output and "Field Survey Co" in dry.output
    assert "refused without --update" in dry.output
    with Project.open(project_path) as proj:
        assert _names(proj)["k1"] == "Field Survey Co"  # nothing written
    refused = runner.invoke(app, ["import", str(data), "-p", db])
    assert refused.exit_code != 0 and isinstance(refused.exception, InvalidInput)
    ok = runner.invoke(app, ["import", str(data), "-p", db, "--update"], env=env)
    assert ok.exit_code == 0, ok.output
    with Project.open(project_path) as proj:
        assert _names(proj)["k1"] == "K-001"
