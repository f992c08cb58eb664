"""The executor contract over every registered backend: order, one state copy per worker, errors."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pandas as pd
import pytest

from simap.errors import InvalidInput, UnknownBackend
from simap.executors import executors, get_executor

LOADS: dict[str, int] = {}  # token -> unpickled copies of that Probe in this process


class Probe:
    """A stand-in for a fitted coder: counts how often a process unpickles it (loads its model)."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.token = uuid.uuid4().hex

    def __getstate__(self) -> dict[str, Any]:
        return {"offset": self.offset, "token": self.token}

    def __setstate__(self, state: dict[str, Any]) -> None:
        LOADS[state["token"]] = LOADS.get(state["token"], 0) + 1
        self.offset, self.token = state["offset"], state["token"]


def stage(probe: Probe, batch: pd.DataFrame) -> pd.DataFrame:
    return batch.assign(y=batch["x"] + probe.offset, pid=os.getpid(), loads=LOADS.get(probe.token, 0))


def batches(n: int) -> list[pd.DataFrame]:
    return [pd.DataFrame({"x": [i * 10 + j for j in range(3)]}) for i in range(n)]


def _make(name: str, workers: int):
    if name == "dask":
        pytest.importorskip("distributed", reason="the dask extra is not installed")
    return get_executor(name, workers=workers)


@pytest.fixture(scope="module", params=["local-1", "local-2", "dask-2"])
def executor(request):
    name, workers = request.param.split("-")
    ex = _make(name, int(workers))
    yield ex
    ex.close()


def test_every_backend_is_covered() -> None:
    assert set(executors.names()) == {"local", "dask"}


def test_results_come_back_in_order(executor) -> None:
    out = list(executor.map(stage, Probe(1), batches(12)))
    assert [list(o["y"]) for o in out] == [[i * 10 + j + 1 for j in range(3)] for i in range(12)]


def test_state_is_loaded_once_per_worker_not_per_batch(executor) -> None:
    out = pd.concat(executor.map(stage, Probe(0), batches(16)))
    per_worker = out.groupby("pid")["loads"].max()
    # in-process and forked workers share the driver's object (0 loads); spawned and Dask workers
    # unpickle it exactly once, however many batches they run
    assert (per_worker <= 1).all(), per_worker.to_dict()
    assert out.groupby("pid").size().max() > 1  # some worker ran several batches
    assert len(per_worker) <= executor.workers


def test_a_failing_batch_raises_in_the_caller(executor) -> None:
    def bad(probe: Probe, batch: pd.DataFrame) -> pd.DataFrame:
        raise ValueError("boom")

    if executor.name == "local" and executor.workers > 1:
        bad = _boom  # a process pool pickles the function by reference: module level
    with pytest.raises(ValueError, match="boom"):
        list(executor.map(bad, Probe(0), batches(3)))


def _boom(probe: Probe, batch: pd.DataFrame) -> pd.DataFrame:
    raise ValueError("boom")


def test_unknown_executor_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownBackend, match="dask, local"):
        get_executor("spark")


def test_bad_workers_are_refused() -> None:
    with pytest.raises(InvalidInput, match="workers must be a positive integer"):
        get_executor("local", workers=0)


def test_unreachable_scheduler_says_how_to_start_one() -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    with pytest.raises(InvalidInput, match="dask scheduler"):
        get_executor("dask", scheduler="tcp://127.0.0.1:9", connect_timeout=2)
