"""Hostile files (zip bombs, XXE, huge lines, deep nesting, odd encodings) fail cleanly: a
SimapError that says why, in under 2 s and well under 200 MB of Python memory."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from tests.ingest.hostile import HOSTILE, MB

from simap.errors import SimapError
from simap.ingest import read

SECONDS = 2.0
PEAK_MB = 200


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_fails_cleanly(case: str, tmp_path: Path) -> None:
    make, words = HOSTILE[case]
    path = make(tmp_path)
    start = time.perf_counter()
    with pytest.raises(SimapError) as exc:
        read(path)
    seconds = time.perf_counter() - start
    assert words in str(exc.value), str(exc.value)
    assert path.name in str(exc.value) or str(path) in str(exc.value)
    assert seconds < SECONDS, f"{case}: {seconds:.2f} s"
    tracemalloc.start()
    try:
        with pytest.raises(SimapError):
            read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_MB * MB, f"{case}: peak {peak / MB:.0f} MB"


def test_hostile_docx_in_a_folder_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    make, _ = HOSTILE["docx XXE"]
    folder = tmp_path / "docs"
    folder.mkdir()
    make(folder)
    (folder / "fine.txt").write_text("Fine Co\nCollects survey data.", encoding="utf-8")
    batch = read(folder, skip_invalid=True)
    assert batch.ventures["id"].tolist() == ["fine"]
    assert len(batch.skipped) == 1 and "DTD" in batch.skipped[0].reason


def test_ordinary_office_files_still_read(tmp_path: Path) -> None:
    from tests.ingest.hostile import _office_base

    (tmp_path / "ok.xlsx").write_bytes(_office_base("xlsx"))
    assert read(tmp_path / "ok.xlsx").ventures["id"].tolist() == ["a"]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "alpha.docx").write_bytes(_office_base("docx"))
    batch = read(folder)
    assert batch.ventures["name"].tolist() == ["Alpha"]


def test_long_but_legal_cells_are_read(tmp_path: Path) -> None:
    """Limits leave room for real data: a 1 MB description in CSV and in JSONL."""
    text = "Collects survey data. " * (MB // 22)
    (tmp_path / "long.csv").write_text(f'id,name,description\na,Alpha,"{text}"\n', encoding="utf-8")
    assert len(read(tmp_path / "long.csv").documents["text"].iloc[0]) > MB - 100
    import json

    (tmp_path / "long.jsonl").write_text(
        json.dumps({"id": "a", "description": text}) + "\n", encoding="utf-8"
    )
    assert len(read(tmp_path / "long.jsonl").documents["text"].iloc[0]) > MB - 100


def test_a_large_json_array_reads_in_linear_time(tmp_path: Path) -> None:
    """Line numbers were recounted from the start for every item: 100k items took minutes."""
    import json

    items = [{"id": f"v{i}", "name": f"V {i}", "description": "Collects survey data."} for i in range(30_000)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(items, indent=1), encoding="utf-8")
    from simap.ingest.readers import read_jsonl

    start = time.perf_counter()
    records = list(read_jsonl(path))
    assert len(records) == 30_000 and records[-1].line == 30_000 * 5 + 1 - 4
    assert time.perf_counter() - start < 3.0
