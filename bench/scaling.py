"""Scaling of `simap code`: ventures/s and peak memory from 1k to 1M ventures, per executor.

Corpora are real DPG and NTEE rows (../shared/data) recombined with variation: venture ``i`` takes
the text of a real row and one sentence of another, a new id and the first row's name and country,
so sentences repeat the way they do in a register, but no two ventures are the same. Each size is
imported once into a SQLite project; each configuration codes a copy of it in a child process:

* ``local-1`` / ``local-2``: the local executor with 1 and 2 worker processes;
* ``dask-2``: a Dask LocalCluster of 2 worker processes (the driver's memory is reported; the
  workers' is their own);
* ``raw``: the embedding model alone on the same sentences (``Embedder.embed`` in batches of
  5,000), the floor that the overhead ratio is measured against.

    python bench/scaling.py [--sizes 1000 10000 100000] [--configs local-1 local-2 dask-2]

Results go to bench/data/scaling.json (a size and config already there is replaced, others are
kept, so sizes can be run one at a time); the table is printed. This VM's speed varies by about
20% from run to run: ``--repeat 2`` keeps the faster of two runs (not at 1M).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common

WORK = Path("/tmp/simap_scale")
SENTENCE = re.compile(r"(?<=[.!?])\s+")


def pool() -> list[dict[str, str]]:
    rows = []
    for line in _common.shared("dpg_ventures.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("description"):
            rows.append({"name": r.get("name", ""), "text": r["description"], "country": ""})
    for line in _common.shared("ntee_4000.jsonl").read_text().splitlines():
        r = json.loads(line)
        text = " ".join(dict.fromkeys(t for t in (r.get("mission"), r.get("program")) if t))
        if text:
            rows.append({"name": r.get("name", ""), "text": text, "country": "United States"})
    return rows


def corpus(n: int, seed: int = 0) -> Path:
    path = WORK / f"ventures_{n}.jsonl"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    rows, rng = pool(), random.Random(seed)
    with path.open("w") as fh:
        for i in range(n):
            a, b = rng.choice(rows), rng.choice(rows)
            extra = rng.choice(SENTENCE.split(b["text"]))
            record = {"id": f"s{i:07d}", "name": f"{a['name']} {i}", "description": f"{a['text']} {extra}"}
            if a["country"]:
                record["country"] = a["country"]
            fh.write(json.dumps(record) + "\n")
    return path


def base_project(n: int) -> tuple[Path, float]:
    db = WORK / f"base_{n}.db"
    if db.exists():
        return db, float(json.loads((WORK / f"base_{n}.json").read_text())["import_s"])
    from simap.pipeline import Project

    t0 = time.perf_counter()
    with Project.open(db) as proj:
        proj.import_path(corpus(n))
    seconds = time.perf_counter() - t0
    (WORK / f"base_{n}.json").write_text(json.dumps({"import_s": seconds}))
    return db, seconds


CHILD = r"""
import json, resource, sys, time
db, config = sys.argv[1], sys.argv[2]
from simap.pipeline import Project
t0 = time.perf_counter()
with Project.open(db) as proj:
    if config == "raw":
        from simap.embed import get_embedder
        from simap.store import repo
        texts = repo.load_segments(proj.store)["text"].tolist()
        emb = get_embedder("static")
        emb.embed(texts[:10])
        t0 = time.perf_counter()
        for i in range(0, len(texts), 5000):
            emb.embed(texts[i : i + 5000])
        out = {"sentences": len(texts)}
    else:
        executor, workers = config.split("-")
        r = proj.code(embedder="static", executor=executor, workers=int(workers))
        out = {"sentences": r.segments, "suggestions": r.suggestions}
seconds = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out | {"seconds": seconds, "peak_rss_mb": round(rss)}))
"""


def run(n: int, config: str) -> dict[str, object]:
    db, import_s = base_project(n)
    copy = WORK / f"run_{n}_{config}.db"
    shutil.copy(db, copy)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(copy), config],
        capture_output=True,
        text=True,
    )
    copy.unlink(missing_ok=True)
    shutil.rmtree(copy.with_name(copy.name + ".simap-cache"), ignore_errors=True)  # cold cache each run
    if proc.returncode != 0:
        raise SystemExit(f"{config} at {n}: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"ventures": n, "config": config, "import_s": round(import_s, 1)} | out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--configs", nargs="+", default=["raw", "local-1", "local-2", "dask-2"])
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per size and config below 1M; the fastest is kept"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "scaling.json")
    args = parser.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else []
    out_path = args.out
    for n in args.sizes:
        for config in args.configs:
            tries = [run(n, config) for _ in range(args.repeat if n < 1_000_000 else 1)]
            r = min(tries, key=lambda t: float(t["seconds"]))  # type: ignore[arg-type]
            r["runs"] = len(tries)
            r["date"] = time.strftime("%Y-%m-%d")
            r["cores"] = _common.machine()["cores"]
            results = [x for x in results if (x["ventures"], x["config"]) != (n, config)]
            r["ventures_per_s"] = round(n / r["seconds"], 1)
            results.append(r)
            print(json.dumps(r), flush=True)
            out_path.parent.mkdir(exist_ok=True)
            out_path.write_text(json.dumps(results, indent=1))
    print("\n| ventures | config | sentences | seconds | ventures/s | x raw | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda x: (x["ventures"], x["config"])):
        raw = next((x for x in results if x["ventures"] == r["ventures"] and x["config"] == "raw"), None)
        ratio = f"{r['seconds'] / raw['seconds']:.1f}" if raw and r["config"] != "raw" else ""
        print(
            f"| {r['ventures']:,} | {r['config']} | {r['sentences']:,} | {r['seconds']:.1f} | "
            f"{r['ventures_per_s']:,.0f} | {ratio} | {r['peak_rss_mb']:,} |"
        )


if __name__ == "__main__":
    main()
