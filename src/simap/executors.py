"""Executors: run one stage function over a stream of batches, on this machine or a Dask cluster.

The contract is one method, :meth:`Executor.map`::

    for result in executor.map(fn, state, batches):   # results come back in input order
        commit(result)

``fn(state, batch)`` is a pure, module-level stage function (e.g.
:func:`simap.coding.stage.code_batch`); ``state`` is the heavy, read-only object it needs (a fitted
coder with its embedding model). ``state`` is shipped to each worker **once**, not with every
batch: the local process pool inherits it by fork (or unpickles it once per worker in the pool's
initializer where fork is unsafe), a Dask cluster receives it as pickled bytes once per worker via
``Client.scatter(..., broadcast=True)`` and each worker process unpickles it once
(:class:`Shipped`). Batches are submitted through a bounded window (a few per
worker), so memory does not grow with the length of the stream, and results are yielded in input
order, so the caller can commit them in order and resume after the last committed one.

Backends (registry ``executors``):

``local``   this machine: in-process for ``workers=1``, else a process pool (the default).
``dask``    a Dask ``distributed`` cluster: ``scheduler`` (or ``$SIMAP_DASK_ADDRESS``) names a
            running scheduler, else a ``LocalCluster`` with ``workers`` processes is started and
            stopped with the executor. Needs the ``dask`` extra.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol, runtime_checkable

from simap.errors import BackendUnavailable, InvalidInput
from simap.registry import Registry

DASK_ADDRESS_ENV = "SIMAP_DASK_ADDRESS"
WINDOW_PER_WORKER = 2
"""Batches in flight per worker: enough to keep every worker busy while the caller commits."""

StageFn = Callable[[Any, Any], Any]


@runtime_checkable
class Executor(Protocol):
    name: str
    workers: int

    def map(self, fn: StageFn, state: Any, batches: Iterable[Any]) -> Iterator[Any]:
        """``fn(state, batch)`` for every batch, yielded in input order."""
        ...

    def describe(self) -> dict[str, Any]:
        """What is recorded with a run: backend, workers, scheduler address."""
        ...

    def close(self) -> None: ...


executors: Registry[Executor] = Registry("executors")


def _ordered(submit: Callable[[Any], Any], result: Callable[[Any], Any], batches: Iterable[Any], window: int):
    """Submit through a bounded window and yield results in input order."""
    pending: deque[Any] = deque()
    for batch in batches:
        pending.append(submit(batch))
        if len(pending) >= window:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


# -- local ----------------------------------------------------------------------------------
_STATE: Any = None  # the worker's copy of the state (inherited by fork or set by the initializer)


def _init_worker(payload: bytes | None) -> None:
    global _STATE
    if payload is not None:
        _STATE = pickle.loads(payload)


def _run_in_worker(fn: StageFn, batch: Any) -> Any:
    return fn(_STATE, batch)


TORCH_BACKENDS = {"minilm"}
"""Embedders running on PyTorch, which is not fork-safe once its thread pool started."""


def _fork_unsafe(state: Any) -> bool:
    """Models on PyTorch go to spawned workers (each unpickles the state once)."""
    embedder = getattr(state, "embedder", None)
    return getattr(embedder, "name", "") in TORCH_BACKENDS


class LocalExecutor:
    """This machine. ``workers=1`` runs in-process; more starts a process pool per :meth:`map`."""

    name = "local"

    def __init__(self, workers: int = 1, start_method: str | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidInput(
                f"executor 'local': workers must be a positive integer; got {workers!r}.",
                field="workers",
                hint="pass --workers 1 or more",
            )
        self.workers = min(workers, os.cpu_count() or 1)
        self.requested_workers = workers
        if start_method is not None and start_method not in mp.get_all_start_methods():
            raise InvalidInput(
                f"executor 'local': start method {start_method!r} is not available here; "
                f"valid: {', '.join(mp.get_all_start_methods())}.",
                field="start_method",
            )
        self.start_method = start_method

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.workers}

    def map(self, fn: StageFn, state: Any, batches: Iterable[Any]) -> Iterator[Any]:
        global _STATE
        if self.workers == 1:
            for batch in batches:
                yield fn(state, batch)
            return
        method = self.start_method
        if method is None:
            fork_ok = "fork" in mp.get_all_start_methods() and not _fork_unsafe(state)
            method = "fork" if fork_ok else "spawn"
        payload = None if method == "fork" else pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        previous, _STATE = _STATE, state  # a forked worker inherits it: no copy, no pickling
        try:
            with ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=mp.get_context(method),
                initializer=_init_worker,
                initargs=(payload,),
            ) as pool:

                def submit(batch: Any) -> Future[Any]:
                    return pool.submit(_run_in_worker, fn, batch)

                yield from _ordered(submit, Future.result, batches, WINDOW_PER_WORKER * self.workers)
        finally:
            _STATE = previous

    def close(self) -> None:
        return None


@executors.register("local", help="this machine: in-process for one worker, else a process pool (default)")
def _local(workers: int = 1, **params: Any) -> Executor:
    return LocalExecutor(workers=workers, **params)


# -- dask -----------------------------------------------------------------------------------
class Shipped:
    """The state as pickled bytes with a token: however often Dask copies or moves this small
    wrapper between workers, each worker process unpickles the state (loads the model) once."""

    def __init__(self, state: Any) -> None:
        import uuid

        self.token = uuid.uuid4().hex
        self.payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


_LOADED: dict[str, Any] = {}  # token -> state, in each worker process (newest few runs only)
_KEEP = 2


def _materialize(shipped: Shipped) -> Any:
    state = _LOADED.get(shipped.token)
    if state is None:
        state = pickle.loads(shipped.payload)
        while len(_LOADED) >= _KEEP:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[shipped.token] = state
    return state


def _run_shipped(fn: StageFn, shipped: Shipped, batch: Any) -> Any:
    return fn(_materialize(shipped), batch)


class DaskExecutor:
    """A Dask ``distributed`` cluster (see the module docstring)."""

    name = "dask"

    def __init__(
        self,
        workers: int = 2,
        scheduler: str | None = None,
        connect_timeout: float = 20.0,
        **cluster_params: Any,
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise BackendUnavailable(
                "executor 'dask' needs the dask distributed scheduler, which is not installed.",
                hint="pip install 'simap[dask]'",
            ) from exc
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidInput(
                f"executor 'dask': workers must be a positive integer; got {workers!r}.",
                field="workers",
                hint="pass --workers 1 or more",
            )
        self.address = scheduler or os.environ.get(DASK_ADDRESS_ENV) or None
        self._cluster: Any = None
        if self.address:
            try:
                self.client = Client(self.address, timeout=connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise InvalidInput(
                    f"executor 'dask': cannot reach the scheduler at {self.address!r}: {exc}.",
                    field="scheduler",
                    hint="start one with `dask scheduler` and `dask worker ADDRESS`, or leave out "
                    f"--scheduler and ${DASK_ADDRESS_ENV} to start a local cluster",
                ) from exc
        else:
            params = {"n_workers": workers, "threads_per_worker": 1, "processes": True}
            params |= {"dashboard_address": None, "silence_logs": 40} | cluster_params
            self._cluster = LocalCluster(**params)
            self.client = Client(self._cluster)
        self.workers = (
            max(1, len(self.client.scheduler_info().get("workers", {}))) if self.address else workers
        )

    def describe(self) -> dict[str, Any]:
        return {
            "executor": self.name,
            "workers": self.workers,
            "scheduler": self.address or "LocalCluster",
        }

    def map(self, fn: StageFn, state: Any, batches: Iterable[Any]) -> Iterator[Any]:
        # sent once to every worker (scatter, broadcast), unpickled once per worker process
        shipped = self.client.scatter(Shipped(state), broadcast=True, hash=False)
        try:

            def submit(batch: Any) -> Any:
                # the batch goes to a worker as data, not inside the task: the scheduler (in this
                # process for a LocalCluster) would otherwise keep every task's input (measured:
                # the driver grew by the size of each batch, to 1.2 GB at 1M ventures)
                data = self.client.scatter(batch, hash=False)
                return data, self.client.submit(_run_shipped, fn, shipped, data, pure=False)

            def result(pair: Any) -> Any:
                data, future = pair
                out = future.result()
                future.release()
                data.release()
                return out

            yield from _ordered(submit, result, batches, WINDOW_PER_WORKER * self.workers)
        finally:
            shipped.release()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@executors.register(
    "dask", help="a Dask cluster: --scheduler ADDRESS / $SIMAP_DASK_ADDRESS, else a LocalCluster (extra dask)"
)
def _dask(workers: int = 2, scheduler: str | None = None, **params: Any) -> Executor:
    return DaskExecutor(workers=workers, scheduler=scheduler, **params)


def get_executor(name: str = "local", **params: Any) -> Executor:
    """An executor by registry name; an unknown name lists the valid ones."""
    return executors.create(name, **params)


__all__ = ["DASK_ADDRESS_ENV", "DaskExecutor", "Executor", "LocalExecutor", "executors", "get_executor"]
