"""REFI-QDA codebooks (QDC): export valid against Codebook.xsd, import what tools write, round trip."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simap import codebook as cb
from simap.cli import app
from simap.codebook import from_dict
from simap.errors import InvalidInput
from simap.interop.common import SIMAP_NAMESPACE, schema_errors
from simap.interop.qdc import (
    code_guid,
    fold_description,
    qdc_bytes,
    read_qdc,
    unfold_description,
    write_qdc,
)
from simap.interop.safety import parse_xml
from simap.pipeline import Project

runner = CliRunner()

HIERARCHY = {
    "name": "nested",
    "codes": [
        {
            "id": "topics",
            "kind": "category",
            "name": "Topics",
            "definition": "Groups the topics.",
            "codable": False,
            "color": "#333",
        },
        {
            "id": "health",
            "kind": "topic",
            "name": "Health & care <clinics>",
            "definition": "Health.",
            "parent": "topics",
            "color": "#33CC33",
            "include": ["clinics", "nurses"],
            "exclude": ["gyms"],
            "examples": ["A clinic opened.", "Nurses visit homes."],
            "counter_examples": ["A gym opened."],
            "cues": ["clinic", "nurse*"],
            "related": ["diet"],
        },
        {
            "id": "diet",
            "kind": "topic",
            "name": "Diät \u2014 food",
            "definition": "Eating habits 🍎.\nTwo lines.",
            "parent": "health",
        },
        {"id": "old", "kind": "topic", "name": "Old", "definition": "Retired code.", "retired": True},
    ],
}


def _book():
    return from_dict(HIERARCHY)


def test_export_is_valid_utf8_without_bom_with_lf_and_deterministic(tmp_path: Path) -> None:
    book = _book()
    data = qdc_bytes(book)
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    assert schema_errors(parse_xml(data, source="t"), "codebook") == []
    assert qdc_bytes(_book()) == data  # same bytes every time
    path = write_qdc(book, tmp_path / "c.qdc")
    assert path.read_bytes() == data
    for name in cb.builtin_names():
        assert schema_errors(parse_xml(qdc_bytes(cb.load(name)), source=name), "codebook") == []


def test_guids_are_uuid5_of_codebook_and_code_id() -> None:
    book = _book()
    expected = str(uuid.uuid5(SIMAP_NAMESPACE, "code:nested:health"))
    assert code_guid(book, "health") == expected
    assert f'guid="{expected}"'.encode() in qdc_bytes(book)


def test_hierarchy_is_nested_and_colours_and_codable_are_written() -> None:
    root = parse_xml(qdc_bytes(_book()), source="t")
    ns = "{urn:QDA-XML:codebook:1.0}"
    top = root.find(f"{ns}Codes/{ns}Code")
    assert top is not None and top.get("name") == "Topics" and top.get("isCodable") == "false"
    assert top.get("color") == "#333"
    child = top.find(f"{ns}Code")
    assert child is not None and child.get("name") == "Health & care <clinics>"
    grandchild = child.find(f"{ns}Code")
    assert grandchild is not None and grandchild.get("name") == "Diät \u2014 food"


def test_description_folds_and_unfolds_every_field() -> None:
    code = _book().code("health")
    text = fold_description(code)
    assert text.startswith("Health.\n\nInclude:\n- clinics\n- nurses\n\nExclude:\n- gyms\n\nExamples:")
    assert text.endswith("[simap] id=health; kind=topic; related=diet")
    back = unfold_description(text)
    for key in ("definition", "include", "exclude", "examples", "counter_examples", "cues", "related"):
        assert back[key] == getattr(code, key), key
    assert unfold_description("Just a foreign description.") == {"definition": "Just a foreign description."}


def test_round_trip_keeps_every_field_but_solutions(tmp_path: Path) -> None:
    for book in (_book(), cb.load("social-innovation")):
        result = read_qdc(write_qdc(book, tmp_path / f"{book.name}.qdc"), strict=True)
        assert result.warnings == []
        again = result.codebook
        assert again.name == book.name
        assert [c.model_dump(exclude={"solutions"}) for c in again.codes] == [
            c.model_dump(exclude={"solutions"}) for c in book.codes
        ]


FOREIGN = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="{ns}" origin="A tool">
  <Codes>
    <Code guid="{{0DCEF2F5-E55C-49DA-8C33-9B0803C7AEB4}}" name="Coke::diet Coke" isCodable="true"
          color="#966450">
      <Description>non sucré</Description>
    </Code>
    <Code guid="7496ba52-9c8d-4396-8fab-cc438614e453" name="Coke" isCodable="true" color="rgb(1,2,3)"/>
    <Code guid="c001" name="interesting\\places" isCodable="true"/>
    <Code guid="11111111-2222-3333-4444-555555555555" name="Folder" isCodable="false">
      <Code guid="11111111-2222-3333-4444-666666666666" name="1st child" isCodable="true"/>
    </Code>
  </Codes>
  <Sets/>
</CodeBook>
"""


def _foreign(tmp_path: Path, ns: str = "urn:QDA-XML:codebook:1.0") -> Path:
    path = tmp_path / "foreign.qdc"
    path.write_text(FOREIGN.format(ns=ns), encoding="utf-8")
    return path


def test_import_builds_hierarchy_from_nesting_and_separators_with_warnings(tmp_path: Path) -> None:
    result = read_qdc(_foreign(tmp_path))
    book = result.codebook
    by_name = {c.name: c for c in book.codes}
    assert by_name["diet Coke"].parent == by_name["Coke"].id == "coke"
    assert by_name["diet Coke"].definition == "non sucré" and by_name["diet Coke"].color == "#966450"
    assert by_name["places"].parent == by_name["interesting"].id  # a category made for the path
    assert by_name["interesting"].codable is False and by_name["interesting"].kind == "category"
    assert by_name["1st child"].parent == "folder" and by_name["1st child"].id == "c-1st-child"
    assert by_name["Folder"].codable is False and "folder" not in book.ids()
    assert result.mapping.by_guid["0DCEF2F5-E55C-49DA-8C33-9B0803C7AEB4"] == by_name["diet Coke"].id
    text = " | ".join(result.warnings)
    assert 'foreign.qdc: <Code name="Coke" guid="7496ba52-9c8d-4396-8fab-cc438614e453">: color' in text
    assert "guid 'c001' is not a UUID" in text and "<Sets>: is empty" in text
    assert by_name["Coke"].color is None


def test_old_namespace_is_read_with_a_warning_and_strict_refuses(tmp_path: Path) -> None:
    path = _foreign(tmp_path, ns="urn:QDA-XML:codebook:0:4")
    result = read_qdc(path)
    assert any("pre-1.0 namespace" in w for w in result.warnings)
    assert len(result.codebook.codes) == 6
    with pytest.raises(InvalidInput, match="strict mode") as exc:
        read_qdc(path, strict=True)
    assert "foreign.qdc" in str(exc.value) and exc.value.details


def test_not_a_codebook_and_unsafe_xml_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "p.qdc"
    bad.write_text('<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>', encoding="utf-8")
    with pytest.raises(InvalidInput, match="expected <CodeBook>"):
        read_qdc(bad)
    bomb = tmp_path / "bomb.qdc"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="x" name="&b;" isCodable="true"/>'
        "</Codes></CodeBook>",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput, match="unsafe XML"):
        read_qdc(bomb)


def test_codebook_load_reads_qdc(tmp_path: Path) -> None:
    path = write_qdc(_book(), tmp_path / "n.qdc")
    assert cb.load(str(path)).ids() == _book().ids()


def test_cli_export_and_import_codebook(tmp_path: Path) -> None:
    out = tmp_path / "si.qdc"
    db = str(tmp_path / "p.db")
    result = runner.invoke(app, ["export", "codebook", "--format", "qdc", "--out", str(out), "-p", db])
    assert result.exit_code == 0, result.output
    assert schema_errors(parse_xml(out.read_bytes(), source="t"), "codebook") == []
    result = runner.invoke(app, ["export", "codebook", "-c", "sdg", "--out", str(tmp_path / "sdg.qdc")])
    assert result.exit_code == 0 and (tmp_path / "sdg.qdc").exists()
    foreign = _foreign(tmp_path)
    yaml_out = tmp_path / "f.yaml"
    result = runner.invoke(app, ["import-codebook", str(foreign), "-p", db, "--out", str(yaml_out)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "6 codes (2 categories)" in output and "warning" in output
    assert cb.load_file(yaml_out).name == "foreign"
    with Project.open(db) as proj:
        assert proj.working_codebook().name == "foreign"
    result = runner.invoke(app, ["import-codebook", str(foreign), "-p", db, "--strict"])
    assert result.exit_code != 0
