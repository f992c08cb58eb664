"""simap -> QDPX: a ZIP with project.qde (valid against Project.xsd) and sources/, every coder a User."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.interop.conftest import MACHINE, VENTURES
from typer.testing import CliRunner

from simap.cli import app
from simap.interop.common import schema_errors
from simap.interop.safety import parse_xml

NS = "{urn:QDA-XML:project:1.0}"
runner = CliRunner()


def _export(proj, path: Path):
    stats = proj.export_project(path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        files = {n: zf.read(n) for n in names}
    return stats, names, files, parse_xml(files["project.qde"], source="project.qde")


def test_export_layout_validates_and_is_deterministic(coded_project, tmp_path: Path) -> None:
    stats, names, files, root = _export(coded_project, tmp_path / "a.qdpx")
    assert names[0] == "project.qde" and all(n.startswith("sources/") for n in names[1:])
    assert schema_errors(root, "project") == []
    qde = files["project.qde"]
    assert not qde.startswith(b"\xef\xbb\xbf") and b"\r" not in qde
    _export(coded_project, tmp_path / "b.qdpx")
    assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()
    assert stats.ventures == 3 and stats.sources == 4  # agua-viva has two text fields


def test_every_text_is_a_source_and_every_span_a_selection(coded_project, tmp_path: Path) -> None:
    _, _, files, root = _export(coded_project, tmp_path / "a.qdpx")
    texts = {}
    for src in root.iter(f"{NS}TextSource"):
        path = src.get("plainTextPath")
        assert path is not None and path.startswith("internal://")
        data = files["sources/" + path.removeprefix("internal://")]
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
        texts[src.get("name")] = data.decode("utf-8")
    assert texts["Água Viva 🌊 (description)"] == VENTURES[0]["description"]
    assert texts["Água Viva 🌊 (interview)"] == VENTURES[0]["interview"]
    quotes = []
    for src in root.iter(f"{NS}TextSource"):
        text = texts[src.get("name")]
        for sel in src.findall(f"{NS}PlainTextSelection"):
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert text[start:end] == sel.get("name")  # code points, exclusive end
            quotes.append(sel.get("name"))
    assert "maps wells 🌊" in quotes and "Donors pay for pilots only." in quotes
    # below min_score (FUND 0.2) is not a code application
    assert quotes.count("We lack funding.") == 1


def test_users_per_coder_and_codings_by_them(coded_project, tmp_path: Path) -> None:
    _, _, _, root = _export(coded_project, tmp_path / "a.qdpx")
    users = {u.get("name"): u.get("guid") for u in root.iter(f"{NS}User")}
    assert set(users) == {"ana", "Bruno Müller", f"simap machine coder ({MACHINE})"}
    by_user: dict[str, int] = {}
    for coding in root.iter(f"{NS}Coding"):
        by_user[coding.get("creatingUser")] = by_user.get(coding.get("creatingUser"), 0) + 1
    names = {g: n for n, g in users.items()}
    counts = {names[g]: n for g, n in by_user.items()}
    # ana: FUND (2 spans) + OPEN on open-lessons (whole source); Bruno: DATA; machine: 4 >= 0.5
    assert counts == {"ana": 3, "Bruno Müller": 1, f"simap machine coder ({MACHINE})": 4}


def test_memos_and_rejections_are_notes_and_attributes_are_variables(coded_project, tmp_path: Path) -> None:
    _, _, _, root = _export(coded_project, tmp_path / "a.qdpx")
    notes = {n.get("name"): n.findtext(f"{NS}PlainTextContent") for n in root.iter(f"{NS}Note")}
    assert notes["Memo: Funding"] == "Founder says pilots only; line 2 of the interview."
    assert notes["Rejected: Open knowledge"] == "Maps are not open content here."
    assert "Rejected: Data collection" in notes
    variables = {v.get("guid"): (v.get("name"), v.get("typeOfVariable")) for v in root.iter(f"{NS}Variable")}
    case = next(c for c in root.iter(f"{NS}Case") if c.get("name") == "Água Viva 🌊")
    values = {}
    for vv in case.findall(f"{NS}VariableValue"):
        name, kind = variables[vv.find(f"{NS}VariableRef").get("targetGUID")]
        values[name] = (kind, vv[1].text)
    assert values["country"] == ("Text", "Brazil") and values["year"] == ("Integer", "2015")
    assert values["staff"] == ("Integer", "12") and values["rating"] == ("Float", "4.5")
    assert values["active"] == ("Boolean", "true") and values["tags"] == ("Text", '["water", "maps"]')
    assert len(case.findall(f"{NS}SourceRef")) == 2


def test_cli_export_project(coded_project, tmp_path: Path) -> None:
    db = coded_project.store.url.removeprefix("sqlite:///")
    out = tmp_path / "cli.qdpx"
    result = runner.invoke(app, ["export", "project", "--format", "qdpx", "--out", str(out), "-p", db])
    assert result.exit_code == 0, result.output
    assert "3 ventures, 4 sources" in " ".join(result.output.split())
    assert zipfile.is_zipfile(out)


def test_rejections_can_be_left_out(coded_project, tmp_path: Path) -> None:
    stats = coded_project.export_project(tmp_path / "n.qdpx", rejections=False)
    with zipfile.ZipFile(tmp_path / "n.qdpx") as zf:
        root = parse_xml(zf.read("project.qde"), source="n")
    names = [n.get("name") for n in root.iter(f"{NS}Note")]
    assert names == ["Memo: Funding"] and stats.not_exported["rejections (left out on request)"] == 2
