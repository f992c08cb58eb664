"""FieldMapping: auto-detection, explicit fields, ``--map`` parsing."""

from __future__ import annotations

import pytest

from simap.errors import InvalidInput
from simap.ingest import FieldMapping, slugify


def test_defaults_detect_common_field_names() -> None:
    rm = FieldMapping().resolve(["ein", "name", "mission", "program", "countries", "sectors", "founded", "x"])
    assert rm.id == "ein"
    assert rm.name == "name"
    assert rm.text == ("mission", "program")
    assert rm.country == "countries"
    assert rm.sector == "sectors"
    assert rm.year == "founded"
    assert rm.metadata is None
    assert rm.used == {"ein", "name", "mission", "program", "countries", "sectors", "founded"}


def test_text_candidates_keep_their_documented_order() -> None:
    rm = FieldMapping().resolve(["interview", "summary", "description"])
    assert rm.text == ("description", "summary", "interview")


def test_id_candidates_in_order_and_no_id_means_slug_of_name() -> None:
    assert FieldMapping().resolve(["slug", "id", "text"]).id == "id"
    assert FieldMapping().resolve(["title", "text"]).id is None
    assert FieldMapping().resolve(["title", "text"]).name == "title"


def test_auto_detection_is_case_insensitive() -> None:
    rm = FieldMapping().resolve(["ID", "Name", "Description", "Country", "Year"])
    assert (rm.id, rm.name, rm.text, rm.country, rm.year) == (
        "ID",
        "Name",
        ("Description",),
        "Country",
        "Year",
    )


def test_explicit_fields_win_over_candidates() -> None:
    rm = FieldMapping(id="code", text=["blurb"], metadata=["tag"]).resolve(
        ["id", "code", "blurb", "text", "tag"]
    )
    assert rm.id == "code"
    assert rm.text == ("blurb",)
    assert rm.metadata == ("tag",)


def test_explicit_field_missing_names_available_fields() -> None:
    with pytest.raises(InvalidInput) as exc:
        FieldMapping(text=["missionn"]).resolve(["id", "mission"], source="v.csv")
    msg = str(exc.value)
    assert "v.csv" in msg and "'missionn'" in msg and "'mission'" in msg and "--map text=" in msg


def test_no_text_field_is_a_file_level_error() -> None:
    with pytest.raises(InvalidInput) as exc:
        FieldMapping().resolve(["id", "name"], source="v.jsonl")
    assert "no text field" in str(exc.value)
    assert exc.value.field == "text"


def test_parse_cli() -> None:
    m = FieldMapping.parse_cli(["text=mission, program", "id=ein", "metadata=a,b", "YEAR=founded"])
    assert m == FieldMapping(text=["mission", "program"], id="ein", metadata=["a", "b"], year="founded")
    assert FieldMapping.parse_cli([]) == FieldMapping()


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        (["text"], "KEY=FIELD"),
        (["colour=red"], "must be one of id, name, text"),
        (["id="], "must name one field name"),
        (["id=a,b"], "must name one field name"),
        (["id=a", "id=b"], "given twice"),
    ],
)
def test_parse_cli_errors(items: list[str], needle: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        FieldMapping.parse_cli(items)
    assert needle in str(exc.value)
    assert exc.value.field == "--map"
    assert "Fix:" in str(exc.value)


def test_text_accepts_a_comma_string_and_rejects_an_empty_list() -> None:
    assert FieldMapping(text="a, b").text == ["a", "b"]  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FieldMapping(text=[])


def test_slugify() -> None:
    assert slugify("Aam Digital GmbH") == "aam-digital-gmbh"
    assert slugify("  Café  Ñandú!! ") == "cafe-nandu"
    assert slugify("foo_bar--baz") == "foo-bar-baz"
    assert slugify("!!!") == ""
