"""Streaming import: chunk boundaries, duplicates across chunks, a late bad row changes nothing,
the Parquet reader (mapping and errors), progress per chunk."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from simap.errors import InvalidInput
from simap.ingest import FieldMapping, read
from simap.ingest.core import iter_batches
from simap.pipeline import Project
from simap.store import repo
from simap.store.schema import Document, Event, Segment, Venture


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": f"v{i:05d}",
            "name": f"Venture {i}",
            "description": f"We help group {i}. Then we grow.",
            "year": 2000,
        }
        for i in range(start, start + n)
    ]


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in items) + "\n", "utf-8")
    return path


def write_csv(path: Path, items: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(items[0]))
        writer.writeheader()
        writer.writerows(items)
    return path


def counts(project: Project) -> tuple[int, int, int, int]:
    return tuple(repo.count(project.store, t) for t in (Venture, Document, Segment, Event))  # type: ignore[return-value]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.open(tmp_path / "p.db")
    yield proj  # type: ignore[misc]
    proj.close()


@pytest.mark.parametrize("chunk", [1, 3, 7, 10, 11, 1000])
def test_chunk_boundaries_give_the_same_import(project: Project, tmp_path: Path, chunk: int) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", rows(10))
    stats = project.import_path(path, chunk_rows=chunk)
    assert (stats.created, stats.segments, stats.documents) == (10, 20, 10)
    assert repo.load_ventures(project.store)["id"].tolist() == [f"v{i:05d}" for i in range(10)]
    assert repo.load_segments(project.store)["text"].tolist()[:2] == ["We help group 0.", "Then we grow."]


def test_iter_batches_chunks_and_read_agree(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", rows(10))
    parts = list(iter_batches(path, chunk_rows=4))
    assert [len(p) for p in parts] == [4, 4, 2]
    whole = read(path)
    assert [i for p in parts for i in p.ventures["id"]] == whole.ventures["id"].tolist()


def test_mapping_sees_fields_of_late_rows_like_read(tmp_path: Path) -> None:
    # the text field "mission" first appears after the first chunk: the first pass finds it
    items = [{"id": "a", "description": "Desc."}] * 1 + [{"id": f"b{i}", "mission": "M."} for i in range(5)]
    path = write_jsonl(tmp_path / "v.jsonl", items)
    parts = list(iter_batches(path, chunk_rows=2))
    assert sum(len(p) for p in parts) == 6
    assert parts[-1].documents["field"].tolist() == ["mission", "mission"]


def test_duplicate_id_across_chunks_is_refused_with_first_line(project: Project, tmp_path: Path) -> None:
    items = [*rows(10), {"id": "v00002", "name": "Again", "description": "Dup."}]
    path = write_jsonl(tmp_path / "v.jsonl", items)
    before = counts(project)
    with pytest.raises(InvalidInput) as exc:
        project.import_path(path, chunk_rows=3)
    msg = str(exc.value)
    assert "line 11" in msg and "'v00002' again (first at line 3)" in msg and "field 'id'" in msg
    assert counts(project) == before


def test_duplicate_across_chunks_skipped_with_skip_invalid(project: Project, tmp_path: Path) -> None:
    items = [*rows(5), {"id": "v00001", "description": "Dup."}, *rows(2, start=5)]
    stats = project.import_path(write_jsonl(tmp_path / "v.jsonl", items), chunk_rows=2, skip_invalid=True)
    assert stats.created == 7
    assert (
        len(stats.skipped) == 1 and "v.jsonl:6" in stats.skipped[0] and "first at line 2" in stats.skipped[0]
    )


def test_bad_row_late_in_the_file_leaves_the_database_unchanged(project: Project, tmp_path: Path) -> None:
    project.import_path(write_jsonl(tmp_path / "first.jsonl", rows(3, start=100)))
    before = counts(project)
    items: list[Any] = rows(40)
    items.append({"id": "v99999", "name": "Bad", "description": "Text.", "year": "next year"})
    path = write_jsonl(tmp_path / "v.jsonl", items)
    with pytest.raises(InvalidInput) as exc:
        project.import_path(path, chunk_rows=5)
    assert "line 41" in str(exc.value) and "field 'year'" in str(exc.value)
    assert counts(project) == before  # 8 chunks were written in the transaction, all rolled back
    # and the project still works: the same file minus the bad row imports
    stats = project.import_path(write_jsonl(tmp_path / "ok.jsonl", rows(40)), chunk_rows=5)
    assert stats.created == 40


def test_malformed_json_late_in_the_file_leaves_the_database_unchanged(
    project: Project, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", [*rows(20), "{not json"])
    with pytest.raises(InvalidInput) as exc:
        project.import_path(path, chunk_rows=4)
    assert "line 21" in str(exc.value)
    assert counts(project) == (0, 0, 0, 0)


def test_first_bad_row_in_file_order_raises_within_a_chunk(tmp_path: Path) -> None:
    # a duplicate of an earlier chunk (line 4) comes before a bad year (line 5) in the same chunk
    items = [*rows(3), {"id": "v00000", "description": "x"}, {"id": "z", "description": "y", "year": "?"}]
    with pytest.raises(InvalidInput) as exc:
        list(iter_batches(write_jsonl(tmp_path / "v.jsonl", items), chunk_rows=3))
    assert "line 4" in str(exc.value) and "again" in str(exc.value)


def test_reimport_with_other_mapping_is_refused_across_chunks_and_writes_nothing(
    project: Project, tmp_path: Path
) -> None:
    items = [{"id": f"v{i}", "name": f"N{i}", "label": f"L{i}", "description": "D."} for i in range(12)]
    path = write_jsonl(tmp_path / "v.jsonl", items)
    project.import_path(path, chunk_rows=5)
    before = counts(project)
    with pytest.raises(InvalidInput) as exc:
        project.import_path(path, mapping=FieldMapping(name="label"), chunk_rows=5)
    assert "would overwrite 12 non-empty fields" in str(exc.value) and "(and 4 more)" in str(exc.value)
    assert counts(project) == before
    stats = project.import_path(path, mapping=FieldMapping(name="label"), chunk_rows=5, update=True)
    assert stats.updated == 12


def test_progress_advances_per_chunk_in_rows(project: Project, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    project.import_path(
        write_jsonl(tmp_path / "v.jsonl", rows(10)), chunk_rows=4, progress=lambda *a: calls.append(a)
    )
    assert calls[0] == ("import", 0, 1)
    assert [c[1] for c in calls[1:]] == [4, 8, 10, 10]
    assert calls[-1] == ("import", 10, 10)


def test_csv_progress_total_is_estimated_from_bytes(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "v.csv", rows(3000))
    stream = iter_batches(path, chunk_rows=500)
    totals = []
    for _ in stream:
        totals.append(stream.total_rows())
    assert all(t is not None and t >= 500 for t in totals) and totals[-1] == 3000


def test_csv_streams_like_read(project: Project, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "v.csv", rows(9))
    stats = project.import_path(path, chunk_rows=2)
    assert stats.created == 9
    assert repo.load_ventures(project.store)["source"].tolist()[0] == "v.csv:2"


def test_dry_run_plan_streams(project: Project, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", rows(7))
    project.import_path(path)
    plan = project.plan_import(write_jsonl(tmp_path / "v.jsonl", rows(9)))
    assert (len(plan.created), plan.unchanged) == (2, 7)


# -- Parquet ----------------------------------------------------------------------------------
def write_parquet(path: Path, table: pa.Table, **kw: Any) -> Path:
    pq.write_table(table, path, **kw)
    return path


def test_parquet_reader_maps_like_csv(project: Project, tmp_path: Path) -> None:
    table = pa.table(
        {
            "ein": ["11", "12", "13"],
            "title": ["A", "B", None],
            "mission": ["Help.", "Feed.", "Teach."],
            "program": ["Meals.", None, ""],
            "founded": pa.array([2001, None, 1999], pa.int64()),
            "countries": [["Kenya", "Peru"], [], None],
            "score": [1.5, 2.0, None],
        }
    )
    path = write_parquet(tmp_path / "npo.parquet", table, row_group_size=2)
    batch = read(path)
    assert batch.ventures["id"].tolist() == ["11", "12", "13"]
    assert batch.ventures["name"].tolist() == ["A", "B", "13"]
    assert batch.ventures["year"].tolist() == [2001, None, 1999]
    assert batch.ventures["country"].tolist() == ["Kenya", None, None]
    assert batch.documents.values.tolist() == [
        ["11", "mission", "Help."],
        ["11", "program", "Meals."],
        ["12", "mission", "Feed."],
        ["13", "mission", "Teach."],
    ]
    assert batch.ventures["metadata"].tolist()[0] == {"score": 1.5, "countries": ["Kenya", "Peru"]}
    assert batch.ventures["source"].tolist() == ["npo.parquet:1", "npo.parquet:2", "npo.parquet:3"]
    mapped = read(path, mapping=FieldMapping.parse_cli(["text=program", "name=mission"]), skip_invalid=True)
    assert mapped.ventures["id"].tolist() == ["11"] and len(mapped.skipped) == 2
    stats = project.import_path(path, chunk_rows=2)
    assert stats.created == 3


def test_parquet_pandas_index_is_left_out_and_dates_become_strings(tmp_path: Path) -> None:
    import datetime

    import pandas as pd

    df = pd.DataFrame(
        {
            "id": ["a", "b"],
            "text": ["T1.", "T2."],
            "seen": [datetime.date(2020, 1, 2), datetime.date(2021, 3, 4)],
        },
        index=[10, 20],
    )
    path = tmp_path / "v.parquet"
    df.to_parquet(path)
    batch = read(path)
    assert batch.ventures["metadata"].tolist() == [{"seen": "2020-01-02"}, {"seen": "2021-03-04"}]


def test_parquet_bad_row_names_row_and_field(project: Project, tmp_path: Path) -> None:
    table = pa.table({"id": [f"v{i}" for i in range(9)] + [None], "text": ["x."] * 10})
    path = write_parquet(tmp_path / "v.parquet", table, row_group_size=3)
    with pytest.raises(InvalidInput) as exc:
        project.import_path(path, chunk_rows=4)
    assert "v.parquet" in str(exc.value) and "line 10" in str(exc.value) and "field 'id'" in str(exc.value)
    assert counts(project) == (0, 0, 0, 0)


def test_parquet_missing_mapped_field_lists_columns(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "v.parquet", pa.table({"id": ["a"], "text": ["x"]}))
    with pytest.raises(InvalidInput) as exc:
        read(path, mapping=FieldMapping(text=["blurb"]))
    assert "'blurb'" in str(exc.value) and "'id', 'text'" in str(exc.value)


def test_parquet_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    path.write_text("id,text\na,b\n")
    with pytest.raises(InvalidInput) as exc:
        read(path)
    assert "must be an Apache Parquet file" in str(exc.value) and "v.parquet" in str(exc.value)


def test_parquet_truncated_file(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "v.parquet", pa.table({"id": ["a"] * 100, "text": ["x"] * 100}))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInput) as exc:
        read(path)
    assert "Parquet" in str(exc.value)


def test_parquet_text_must_be_a_string(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "v.parquet", pa.table({"id": ["a"], "text": [b"\x00\x01"]}))
    with pytest.raises(InvalidInput) as exc:
        read(path)
    assert "text field must be a string" in str(exc.value) and "line 1" in str(exc.value)


def test_parquet_format_named_explicitly(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "v.data", pa.table({"id": ["a"], "text": ["x"]}))
    assert read(path, format="parquet").ventures["id"].tolist() == ["a"]
