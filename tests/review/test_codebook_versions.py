"""Project codebook versions are first-class (issue 12, item 1): a version saved on the Codebook
page is what `simap code` codes with next, NAME@VERSION names it everywhere, `simap codebook
list` shows it, and a re-code diff says which codes appear or disappear for which ventures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simap import codebook as cb
from simap.cli import app
from simap.demo import GOLD_PATH, VENTURES_PATH
from simap.errors import NotFound
from simap.pipeline import Project
from simap.review import codebook_edit, codebook_versions

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def coded(project_path: Path):
    proj = Project.open(project_path)
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    yield proj
    proj.close()


def _retire_most_frequent(proj: Project) -> tuple[str, object]:
    """Save a web edit (retire the code present on most ventures) as the Codebook page does."""
    old = proj.current_codebook()
    counts = proj.assignments(old).query("score >= 0.5")["code_id"].value_counts()
    code = str(counts.index[0])
    new = codebook_edit.save_edits(proj.store, old, [{"op": "retire", "code_id": code}], actor="ana")
    return code, new


def test_web_saved_version_is_what_code_uses_next(coded: Project) -> None:
    builtin = cb.load(cb.DEFAULT_CODEBOOK)
    code, new = _retire_most_frequent(coded)
    assert new.version != builtin.version
    result = coded.code(embedder="fake")  # no --codebook: the working (web-saved) codebook
    assert result.codebook_version == new.version
    assert code not in coded.current_codebook().ids()


def test_name_at_version_resolves_and_errors_list_the_versions(coded: Project) -> None:
    _, new = _retire_most_frequent(coded)
    store = coded.store
    assert codebook_versions.resolve(store, f"{new.name}@{new.version}").version == new.version
    assert codebook_versions.resolve(store, f"{new.name}@{new.version[:6]}").version == new.version
    assert codebook_versions.resolve(store, new.version[:8]).version == new.version
    assert codebook_versions.resolve(store, f"{new.name}@latest").version == new.version
    assert codebook_versions.resolve(store, None).version == new.version
    assert codebook_versions.resolve(store, new.name).version == cb.load(new.name).version  # built-in
    with pytest.raises(NotFound) as err:
        codebook_versions.resolve(store, f"{new.name}@ffffffff")
    assert new.version in str(err.value) and "codebook list" in str(err.value)


def test_staleness_until_recoded(coded: Project) -> None:
    assert codebook_versions.staleness(coded.store) is None
    _, new = _retire_most_frequent(coded)
    stale = codebook_versions.staleness(coded.store)
    assert stale is not None and stale.working == new.version
    assert new.version in stale.message()
    coded.code(embedder="fake")
    assert codebook_versions.staleness(coded.store) is None


def test_recode_diff_names_the_ventures_that_lose_the_retired_code(coded: Project) -> None:
    before = coded.current_codebook()
    had = coded.present_codes(codebook=before)
    code, new = _retire_most_frequent(coded)
    with pytest.raises(NotFound, match="has not been coded"):
        codebook_versions.diff(coded.store, before.version, new.version)
    coded.code(embedder="fake")
    d = codebook_versions.diff(coded.store, f"{before.name}@{before.version}", new.version)
    losers = {r.venture_id for r in d.rows if code in r.disappeared}
    assert losers == {v for v, codes in had.items() if code in codes} and losers
    assert d.codes_removed == [code] and d.per_code[code]["disappeared"] == len(losers)
    assert all(code not in r.appeared for r in d.rows)


def test_cli_list_code_diff_evaluate_with_project_versions(coded: Project, project_path: Path) -> None:
    db = str(project_path)
    before = coded.current_codebook()
    code, new = _retire_most_frequent(coded)
    out = invoke("codebook", "list", "-p", db)
    assert f"{new.name}@{new.version}" in " ".join(out.split()) and "working" in out
    listed = json.loads(invoke("codebook", "list", "-p", db, "--json"))
    assert {v["version"] for v in listed["project"]} == {before.version, new.version}
    out = invoke("code", "-p", db, "--embedder", "fake", "--codebook", f"{new.name}@{new.version[:7]}")
    assert new.version in out
    out = invoke("codebook", "diff", f"{before.name}@{before.version}", "-p", db, "--json")
    diff = json.loads(out)
    assert diff["b"] == f"{new.name}@{new.version}" and diff["codes_removed"] == [code]
    assert any(code in r["disappeared"] for r in diff["ventures"])
    assert all(code not in r["appeared"] for r in diff["ventures"])
    out = invoke("codebook", "show", f"{new.name}@{new.version}", "-p", db)
    assert new.version in out
    out = invoke(
        "evaluate",
        "-p",
        db,
        "--gold",
        str(GOLD_PATH),
        "--codebook",
        f"{before.name}@{before.version}",
        "--json",
    )
    assert "pooled" in out


def test_promote_builds_on_the_project_version_discovery_used(
    coded: Project, project_path: Path, tmp_path: Path
) -> None:
    from simap.discover.run import discover

    code, new = _retire_most_frequent(coded)
    found = discover(coded, codebook=new, embedder="fake", max_score=0.9, min_ventures=2)
    themes = found.save(tmp_path / "themes.json")
    out = tmp_path / "promoted.yaml"
    invoke("codebook", "promote", str(themes), "--theme", "0", "--out", str(out), "-p", str(project_path))
    promoted = cb.load_file(out)
    assert promoted.code(code).retired  # built on the web-saved version, not the built-in one
    assert len(promoted.codes) == len(new.codes) + 1


def test_report_and_diagnose_take_a_project_version(
    coded: Project, project_path: Path, tmp_path: Path
) -> None:
    before = coded.current_codebook()
    _retire_most_frequent(coded)
    coded.code(embedder="fake")  # the suggestions are now of the new version
    db, ref = str(project_path), f"{before.name}@{before.version[:8]}"
    html = tmp_path / "map.html"
    invoke("report", "-p", db, "--out", str(html), "--no-pdf", "--text-embedder", "none", "--codebook", ref)
    assert before.version in html.read_text()  # the report of the older version, by NAME@VERSION
    out = invoke("diagnose", "-p", db, "--text", "We collect survey data.", "--codebook", ref, "--json", "-q")
    assert json.loads(out)["map"]["codebook_version"] == before.version
