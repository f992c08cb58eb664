"""``read``: mapping, per-row validation, error messages, skip_invalid, duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simap.batches import SkippedRow
from simap.errors import InvalidInput
from simap.ingest import FieldMapping, read


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8"
    )
    return path


def test_multi_field_text_each_field_is_its_own_document(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "npo.jsonl",
        [{"ein": "1", "name": "Org", "mission": "Help.", "program": "Meals.", "summary": "  ", "ntee": "K"}],
    )
    batch = read(path)
    assert batch.ventures["id"].tolist() == ["1"]
    assert batch.documents.values.tolist() == [["1", "mission", "Help."], ["1", "program", "Meals."]]
    assert batch.ventures["metadata"].tolist() == [{"ntee": "K"}]


def test_mapping_from_cli_selects_fields(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "v.jsonl",
        [{"code": "c1", "label": "Alpha", "blurb": "About.", "description": "Ignored.", "a": 1, "b": 2}],
    )
    mapping = FieldMapping.parse_cli(["id=code", "name=label", "text=blurb", "metadata=b"])
    batch = read(path, mapping=mapping)
    row = batch.ventures.iloc[0]
    assert (row["id"], row["name"], row["metadata"]) == ("c1", "Alpha", {"b": 2})
    assert batch.documents.values.tolist() == [["c1", "blurb", "About."]]


def test_id_is_slug_of_name_without_an_id_field_and_name_defaults_to_id(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "v.jsonl", [{"title": "Água Limpa!", "text": "Water."}, {"text": "x", "id": "b"}]
    )
    # once the file has an id field, a row without an id is an error (no silent fallback to the name)
    with pytest.raises(InvalidInput, match="line 1, field 'id'"):
        read(path)
    path2 = write_jsonl(tmp_path / "w.jsonl", [{"title": "Água Limpa!", "text": "Water."}])
    assert read(path2).ventures[["id", "name"]].values.tolist() == [["agua-limpa", "Água Limpa!"]]
    path3 = write_jsonl(tmp_path / "x.jsonl", [{"id": "only-id", "text": "Water."}])
    assert read(path3).ventures["name"].tolist() == ["only-id"]


def test_texts_are_kept_exactly_except_outer_whitespace_and_crlf(tmp_path: Path) -> None:
    text = "  Line one.\r\n\r\n  Indented   line two…  \t"
    path = write_jsonl(tmp_path / "v.jsonl", [{"id": "a", "text": text}])
    assert read(path).documents["text"].tolist() == ["Line one.\n\n  Indented   line two…"]


def test_metadata_is_json_serialisable(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "v.jsonl", [{"id": "a", "text": "T.", "nested": {"k": [1, 2.5, None]}, "n": 3}]
    )
    batch = read(path)
    assert json.loads(json.dumps(batch.ventures["metadata"].tolist())) == [
        {"nested": {"k": [1, 2.5, None]}, "n": 3}
    ]


def test_year_forms(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "text": "T.", "year": "1999"},
        {"id": "b", "text": "T.", "year": 2004.0},
        {"id": "c", "text": "T.", "founded": "2010-05-01"},
        {"id": "d", "text": "T.", "year": ""},
    ]
    path = write_jsonl(tmp_path / "v.jsonl", rows)
    assert read(path).ventures["year"].tolist() == [1999, 2004, None, None]  # 'year' wins over 'founded'
    path2 = write_jsonl(tmp_path / "w.jsonl", [{"id": "c", "text": "T.", "founded": "2010-05-01"}])
    assert read(path2).ventures["year"].tolist() == [2010]


@pytest.mark.parametrize(
    ("row", "field", "needles"),
    [
        ({"id": "", "text": "T."}, "id", ["id must be a non-empty", "got ''", "--map id="]),
        ({"id": "b", "text": "   "}, "text", ["at least one text field", "text='   '"]),
        ({"id": "b", "text": "T.", "year": 1492}, "year", ["between 1800 and 2100", "got 1492"]),
        ({"id": "b", "text": "T.", "year": "soon"}, "year", ["got 'soon'", "4-digit year"]),
        ({"id": "b", "text": {"a": 1}}, "text", ["must be a string"]),
    ],
)
def test_first_bad_row_raises_with_file_line_field_and_fix(
    tmp_path: Path, row: dict[str, Any], field: str, needles: list[str]
) -> None:
    path = write_jsonl(tmp_path / "ventures.jsonl", [{"id": "a", "text": "Good."}, "", row])
    with pytest.raises(InvalidInput) as exc:
        read(path)
    err = exc.value
    msg = str(err)
    assert (err.line, err.field) == (3, field)
    assert "ventures.jsonl" in msg and "line 3" in msg and f"field '{field}'" in msg
    assert "must" in msg and "got" in msg and "Fix:" in msg
    for needle in needles:
        assert needle in msg


def test_csv_error_uses_row_number_including_header(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("id,name,description,year\na,A,Text.,2000\nb,B,Text.,3000\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        read(path)
    assert "list.csv" in str(exc.value) and "line 3" in str(exc.value) and "field 'year'" in str(exc.value)


def test_malformed_json_line_raises_or_is_skipped(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", [{"id": "a", "text": "T."}, '{"id": "b", "text": ', "[1, 2]"])
    with pytest.raises(InvalidInput) as exc:
        read(path)
    assert "line 2" in str(exc.value) and "invalid JSON" in str(exc.value)
    batch = read(path, skip_invalid=True)
    assert batch.ventures["id"].tolist() == ["a"]
    assert [(s.line, "JSON object" in s.reason) for s in batch.skipped] == [(2, True), (3, True)]


def test_skip_invalid_reports_every_bad_row(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "text": "Good."},
        {"id": "", "text": "No id."},
        {"id": "c", "text": ""},
        {"id": "d", "text": "Bad year.", "year": 99},
        "not json",
        {"id": "a", "text": "Duplicate."},
        {"id": "g", "text": "Also good."},
    ]
    path = write_jsonl(tmp_path / "v.jsonl", rows)
    before = sorted(p.name for p in tmp_path.iterdir())
    batch = read(path, skip_invalid=True)
    assert batch.ventures["id"].tolist() == ["a", "g"]
    assert batch.documents["venture_id"].tolist() == ["a", "g"]
    assert [(s.line, s.field) for s in batch.skipped] == [
        (2, "id"),
        (3, "text"),
        (4, "year"),
        (5, None),
        (6, "id"),
    ]
    assert all(isinstance(s, SkippedRow) and s.source == str(path) for s in batch.skipped)
    assert str(batch.skipped[2]).startswith(f"{path}:4: year: year must be")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # reading writes nothing


def test_duplicate_id_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "v.jsonl",
        [{"id": "x", "text": "One."}, {"id": "y", "text": "Two."}, {"id": "x", "text": "3."}],
    )
    with pytest.raises(InvalidInput) as exc:
        read(path)
    msg = str(exc.value)
    assert "line 3" in msg and "'x' again" in msg and "first at line 1" in msg and "field 'id'" in msg


def test_duplicate_slug_ids_from_names(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "v.jsonl", [{"name": "Acme Co", "text": "1."}, {"name": "acme co!", "text": "2."}]
    )
    with pytest.raises(InvalidInput, match="'acme-co' again"):
        read(path)


def test_explicit_mapping_to_a_missing_field_fails_before_any_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", [{"id": "a", "mission": "T."}])
    with pytest.raises(InvalidInput) as exc:
        read(path, mapping=FieldMapping(text=["misson"]), skip_invalid=True)
    assert "v.jsonl" in str(exc.value) and "'misson'" in str(exc.value) and "'mission'" in str(exc.value)


def test_empty_file_gives_an_empty_batch(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    batch = read(path)
    assert len(batch) == 0
    assert list(batch.ventures.columns) == ["id", "name", "country", "sector", "year", "metadata", "source"]
    assert list(batch.documents.columns) == ["venture_id", "field", "text"]


def test_all_rows_malformed(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", ["{", "nope"])
    with pytest.raises(InvalidInput, match="line 1"):
        read(path)
    assert [s.line for s in read(path, skip_invalid=True).skipped] == [1, 2]


def test_country_and_sector_lists(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "v.jsonl",
        [{"id": "a", "text": "T.", "country": ["Chile", "Peru"], "sectors": "Health"}],
    )
    row = read(path).ventures.iloc[0]
    assert (row["country"], row["sector"]) == ("Chile", "Health")
    assert row["metadata"] == {"countries": ["Chile", "Peru"]}
