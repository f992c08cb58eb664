"""Speed of the pipeline on 2 cores: ventures/s for import, code (embed + score) and end to end.

Runs on the 727 real DPG ventures and on the 4,000 NTEE records (../shared/data), per backend,
each in a fresh SQLite project, in a separate process so that peak memory is per run.

    python bench/throughput.py [backend ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

DATASETS = {"dpg_ventures.jsonl": {}, "ntee_4000.jsonl": {"skip_invalid": True}}


def one(backend: str, dataset: str, workers: int) -> dict[str, object]:
    from simap.pipeline import Project

    path = _common.shared(dataset)
    with tempfile.TemporaryDirectory() as tmp, Project.open(Path(tmp) / "t.db") as proj:
        t0 = time.perf_counter()
        stats = proj.import_path(path, **DATASETS[dataset])
        t1 = time.perf_counter()
        result = proj.code(embedder=backend, workers=workers)
        t2 = time.perf_counter()
        n = stats.total
    return {
        "backend": backend,
        "dataset": dataset,
        "workers": workers,
        "ventures": n,
        "sentences": result.segments,
        "import_s": round(t1 - t0, 2),
        "code_s": round(t2 - t1, 2),
        "import_vps": round(n / (t1 - t0), 1),
        "code_vps": round(n / (t2 - t1), 1),
        "end_to_end_vps": round(n / (t2 - t0), 1),
        "peak_rss_mb": _common.peak_rss_mb(),
    }


def main(backends: list[str]) -> None:
    if len(backends) == 4 and backends[0] == "--one":
        print(json.dumps(one(backends[1], backends[2], int(backends[3]))))
        return
    results = []
    for dataset in DATASETS:
        for backend in backends:
            for workers in (2,) if backend == "minilm" else (1, 2):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", backend, dataset, str(workers)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                res = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(res)
                print(
                    f"{dataset:20s} {backend:7s} w={workers} import {res['import_vps']:8.1f}/s  "
                    f"code {res['code_vps']:8.1f}/s  end-to-end {res['end_to_end_vps']:8.1f}/s  "
                    f"peak {res['peak_rss_mb']} MB",
                    flush=True,
                )
    print(f"written {_common.write_result('throughput', {'results': results})}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["static", "tfidf", "minilm"])
