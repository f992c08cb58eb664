"""First-diagnose latency of a process: venture index built (cold) against loaded (warm).

The first diagnosis in a process builds the map's venture index (venture vectors from every
sentence, then ``build_index``: exact below 50,000 ventures, a usearch HNSW graph above);
``TextNeighbours.from_project`` saves it in the project's cache folder, keyed by the embedder and
the ventures' texts, so that later processes load it. Each configuration is a fresh child process
on a copy of one coded project (the first diagnosis of a `simap diagnose` process):

* ``cold``: no saved index, the embedding cache as `simap code` left it: build and save (the
  time to save is reported apart: without it, this is the behaviour before the index was saved);
* ``warm``: the index saved by ``cold`` is loaded (run twice; the faster is kept).

Corpora: real DPG and NTEE rows recombined with variation (``bench/scaling.py``'s corpus), coded
once with the ``static`` embedder (kept in /tmp/simap_diagnose_latency between runs). The text
diagnosed is the first of ``bench/data/diagnose_texts.yaml``. Times per phase: ``map`` (the
ventures x codes matrix), ``coder`` (fitting the zero-shot coder of the free text), ``text_index``
(the venture index: built or loaded), ``diagnose`` (the call itself); ``first_s`` is their sum,
``second_s`` a second diagnosis in the same process.

    python bench/diagnose_latency.py [--sizes 10000 100000]

Writes bench/out/diagnose_latency.json and prints the table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

import _common
import scaling

WORK = Path("/tmp/simap_diagnose_latency")
TEXT = yaml.safe_load((_common.ROOT / "bench" / "data" / "diagnose_texts.yaml").read_text())["texts"][0][
    "text"
]


def coded_project(n: int) -> tuple[Path, float]:
    """A copy-ready project of ``n`` recombined ventures, imported and coded with ``static``."""
    db = WORK / f"coded_{n}.db"
    info = WORK / f"coded_{n}.json"
    if db.exists() and info.exists():
        return db, float(json.loads(info.read_text())["code_s"])
    from simap.pipeline import Project

    WORK.mkdir(parents=True, exist_ok=True)
    source = scaling.corpus(n)
    with Project.open(db) as proj:
        proj.import_path(source)
        t0 = time.perf_counter()
        proj.code(embedder="static", workers=2)
        seconds = time.perf_counter() - t0
    info.write_text(json.dumps({"code_s": seconds}))
    return db, seconds


CHILD = r"""
import json, resource, sys, time
db, config, text = sys.argv[1], sys.argv[2], sys.argv[3]
import simap.advise.similar as similar
from simap.advise import Advisor
from simap.pipeline import Project
times, saving = {}, []
_save = similar.TextNeighbours.save
def timed_save(self, *args, **kwargs):
    t = time.perf_counter()
    try:
        return _save(self, *args, **kwargs)
    finally:
        saving.append(time.perf_counter() - t)
similar.TextNeighbours.save = timed_save
building = []
_build = similar.build_index
def timed_build(*args, **kwargs):
    t = time.perf_counter()
    try:
        return _build(*args, **kwargs)
    finally:
        building.append(time.perf_counter() - t)
similar.build_index = timed_build
with Project.open(db) as proj:
    t = time.perf_counter()
    advisor = Advisor(proj)
    advisor.index
    times["map"] = time.perf_counter() - t
    t = time.perf_counter()
    advisor.coder(); advisor.text_coder()
    times["coder"] = time.perf_counter() - t
    t = time.perf_counter()
    neighbours = advisor.text_index()
    times["text_index"] = time.perf_counter() - t
    t = time.perf_counter()
    first = advisor.diagnose(text)
    times["diagnose"] = time.perf_counter() - t
    t = time.perf_counter()
    advisor.diagnose(text)
    second = time.perf_counter() - t
folder = similar.saved_folder(proj.store)
files = [p for p in folder.rglob("*") if p.is_file()] if folder and folder.exists() else []
saved_mb = sum(p.stat().st_size for p in files) / 1e6
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "backend": neighbours.index.name, "vectors": len(neighbours), "similar": len(first.similar),
    "phases_s": {k: round(v, 3) for k, v in times.items()}, "first_s": round(sum(times.values()), 3),
    "second_s": round(second, 3), "build_s": round(sum(building), 3),
    "save_s": round(sum(saving), 3), "saved_mb": round(saved_mb, 1),
    "peak_rss_mb": round(rss),
}))
"""


def child(db: Path, config: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), config, TEXT], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"{config} on {db}: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def measure(n: int) -> list[dict[str, object]]:
    base, code_s = coded_project(n)
    copy = WORK / f"run_{n}.db"
    cache = copy.with_name(copy.name + ".simap-cache")
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copy(base, copy)
    base_cache = base.with_name(base.name + ".simap-cache")
    if base_cache.exists():  # the embedding cache as `simap code` left it
        shutil.copytree(base_cache, cache)
    shutil.rmtree(cache / "venture-index", ignore_errors=True)
    rows = []
    try:
        for config, runs in (("cold", 1), ("warm", 2)):
            tries = [child(copy, config) for _ in range(runs)]
            best = min(tries, key=lambda r: float(r["first_s"]))  # type: ignore[arg-type]
            row = {"ventures": n, "config": config, "runs": runs, "code_s": round(code_s, 1)} | best
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        copy.unlink(missing_ok=True)
        shutil.rmtree(cache, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    rows = [row for n in args.sizes for row in measure(n)]
    path = _common.write_result("diagnose_latency", {"text": TEXT[:80], "results": rows})
    print(f"\nwrote {path}\n")
    print(
        "| ventures | index | config | map s | coder s | text index s (build s, save s) | diagnose s "
        "| first diagnose s | second s | saved MB |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        p = r["phases_s"]
        assert isinstance(p, dict)
        print(
            f"| {r['ventures']:,} | {r['backend']} | {r['config']} | {p['map']:.2f} | {p['coder']:.2f} | "
            f"{p['text_index']:.2f} ({r['build_s']:.2f}, {r['save_s']:.2f}) | {p['diagnose']:.2f} | "
            f"**{r['first_s']:.2f}** | {r['second_s']:.2f} | {r['saved_mb']} |"
        )


if __name__ == "__main__":
    main()
