"""kill -9 during `simap import` and `simap code` (issue 12 item 11), a few kills of the trials of
bench/crash.py (which runs 50 and puts its numbers in docs/benchmarks.md): the database passes
its integrity and foreign-key checks, nothing committed is lost, nothing is half written, and a
re-run completes and is idempotent."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "crash.py"


@pytest.mark.slow
def test_kill_9_during_import_and_coding(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("crash_bench", BENCH)
    assert spec and spec.loader
    crash = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(crash)
    summary = crash.run(kills=4, n=150, seed=1, folder=tmp_path, idempotency_every=1)
    problems = [t for t in summary["trials"] if t["problems"]]
    assert problems == []
    assert summary["integrity_failures"] == summary["committed_rows_lost"] == 0
    assert summary["partial_writes"] == summary["recovery_failures"] == 0
    assert summary["idempotency_checks"] == 4
