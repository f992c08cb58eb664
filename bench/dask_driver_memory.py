"""Driver memory of the `dask` executor: 400 batches through a LocalCluster of 2 workers.

Each batch is a 2,300-row frame (about the segments of 500 ventures) and each result a 7,000-row
frame (about their suggestions). Before batches were scattered as data, the scheduler (in the
driver process for a LocalCluster) kept every task's input: the driver grew from 164 to 509 MB
over 400 batches; now it stays near 180 MB (docs/benchmarks.md, "Scaling `simap code`").

    PYTHONPATH=src python bench/dask_driver_memory.py
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pandas as pd

from simap.executors import get_executor


def stage(state: object, batch: pd.DataFrame) -> pd.DataFrame:
    n = 7000
    return pd.DataFrame(
        {
            "venture_id": [f"v{i}" for i in range(n)],
            "evidence_json": ["x" * 660] * n,
            "score": np.random.rand(n),
        }
    )


def rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    executor = get_executor("dask", workers=2)
    batch = pd.DataFrame({"text": ["y" * 150] * 2300})
    t0 = time.perf_counter()
    try:
        for k, _ in enumerate(executor.map(stage, None, (batch for _ in range(400)))):
            if k % 100 == 0:
                print(f"batch {k}: driver peak RSS {rss_mb()} MB", flush=True)
    finally:
        executor.close()
    print(f"400 batches: driver peak RSS {rss_mb()} MB, {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
