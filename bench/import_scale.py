"""Streaming import at scale (issue 14): rows/s and peak RSS at 10k / 100k / 1M rows, and the disk
embedding cache (lookup vs embedding, re-code with and without the cache).

Rows are recombined from the real files in ``$SIMAP_SHARED_DATA`` (DPG ventures and NTEE/IRS
nonprofits): every row gets a new id and name and 2-5 sentences drawn from two real rows, so
texts vary like real ones (nothing of the data is written into the repository; the generated
files go to ``--work``). Each import runs in a fresh child process on a fresh SQLite project; its
peak RSS is the child's own ``ru_maxrss``.

    nice -n 10 flock /work/wt/cpu.lock python bench/import_scale.py \\
        --sizes 10000 100000 1000000 --formats jsonl csv parquet --million jsonl parquet
    python bench/import_scale.py --cache            # the embedding cache part only

``--baseline SRC`` also imports the 10k and 100k JSONL/CSV files with another checkout's ``src``
(the import before streaming; it has no Parquet reader) for comparison.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, shared, write_result

FIELDS = ["id", "name", "description", "program", "country", "sector", "year"]


def _pool() -> list[dict[str, Any]]:
    from simap.ingest.segment import split_sentences

    pool = []
    for name in ("dpg_ventures.jsonl", "ntee_4000.jsonl"):
        with shared(name).open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                text = " ".join(str(row.get(k) or "") for k in ("description", "mission", "program")).strip()
                sentences = [text[s:e] for s, e in split_sentences(text)]
                if not sentences:
                    continue
                countries = row.get("countries") or []
                sectors = row.get("sectors") or []
                pool.append(
                    {
                        "name": str(row.get("name") or "Venture"),
                        "sentences": sentences,
                        "country": countries[0] if countries else None,
                        "sector": sectors[0] if sectors else row.get("ntee_major"),
                        "year": row.get("year"),
                    }
                )
    return pool


def rows(n: int, seed: int = 14) -> Iterator[dict[str, Any]]:
    """``n`` recombined rows: new id and name, 2-5 sentences of two real rows, shuffled."""
    rng = random.Random(seed)
    pool = _pool()
    for i in range(n):
        a, b = rng.choice(pool), rng.choice(pool)
        sentences = a["sentences"] + b["sentences"]
        rng.shuffle(sentences)
        k = rng.randint(2, 5)
        text = " ".join(sentences[:k])
        program = " ".join(sentences[k : k + 2]) if rng.random() < 0.5 else None
        yield {
            "id": f"x{i:07d}",
            "name": f"{a['name']} {i}",
            "description": text,
            "program": program,
            "country": a["country"],
            "sector": a["sector"],
            "year": a["year"] if a["year"] is not None else rng.randint(1990, 2024),
        }


def build(path: Path, n: int, fmt: str) -> Path:
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if fmt == "jsonl":
        with tmp.open("w", encoding="utf-8") as fh:
            for r in rows(n):
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows(n))
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema(
            [(f, pa.int64() if f == "year" else pa.string()) for f in FIELDS]  # one schema for all groups
        )
        with pq.ParquetWriter(tmp, schema) as writer:
            batch: list[dict[str, Any]] = []
            for r in rows(n):
                batch.append(r)
                if len(batch) == 65_536:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    batch = []
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    else:
        raise SystemExit(f"unknown format {fmt!r}")
    tmp.rename(path)
    return path


def child_import(path: str, db: str) -> None:
    """Run in a child process: import ``path`` into ``db``; print seconds, counts, peak RSS."""
    from simap.pipeline import Project

    t0 = time.perf_counter()
    with Project.open(db) as project:
        stats = project.import_path(path)
    seconds = time.perf_counter() - t0
    result = {"seconds": seconds, "rows": stats.total, "segments": stats.segments, "rss_mb": peak_rss()}
    print(json.dumps(result))


def peak_rss() -> float:
    """This process's peak RSS in MB: VmHWM of its own memory map. (``ru_maxrss`` of a child starts
    at its parent's RSS at fork time, which made every child look as large as the bench.)"""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path, work: Path, src: Path) -> dict[str, Any]:
    db = Path(tempfile.mkdtemp(dir=work)) / "p.db"
    env = dict(os.environ, PYTHONPATH=str(src), SIMAP_QUIET="1")
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(db)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["rows_per_s"] = round(result["rows"] / result["seconds"])
    result["file_mb"] = round(path.stat().st_size / 2**20, 1)
    result["db_mb"] = round(db.stat().st_size / 2**20, 1)
    for p in db.parent.iterdir():
        p.unlink()
    db.parent.rmdir()
    return result


# -- embedding cache ------------------------------------------------------------------------------
def cache_lookup_vs_embed(n: int, work: Path) -> dict[str, Any]:
    """Static embedder at ``n`` sentences: embedding vs a warm disk-cache lookup vs the db cache."""
    import numpy as np

    from simap.embed import ParquetEmbeddingCache, embed_cached, get_embedder, text_hash
    from simap.store import repo
    from simap.store.db import open_store

    rng = random.Random(3)
    sentences = [t for r in _pool() for t in r["sentences"]]
    texts = list(
        dict.fromkeys(f"{rng.choice(sentences)} {rng.choice(sentences)}" for _ in range(n + n // 10))
    )[:n]
    emb = get_embedder("static")
    emb.embed(texts[:100])  # load the model
    t = time.perf_counter()
    vectors = emb.embed(texts)
    t_embed = time.perf_counter() - t
    hashes = [text_hash(x) for x in texts]
    disk = ParquetEmbeddingCache(Path(tempfile.mkdtemp(dir=work)))
    t = time.perf_counter()
    for i in range(0, n, 2500):  # as a coding run writes it: one shard per batch of ventures
        disk.put_many(emb.key, {h: vectors[j] for j, h in enumerate(hashes[i : i + 2500], start=i)})
    t_put = time.perf_counter() - t
    fresh = ParquetEmbeddingCache(disk.directory)
    t = time.perf_counter()
    got = {}
    for i in range(0, n, 2500):
        got.update(fresh.get_many(emb.key, hashes[i : i + 2500]))
    t_disk = time.perf_counter() - t
    assert len(got) == len(set(hashes)) and np.allclose(got[hashes[0]], vectors[0])
    t = time.perf_counter()
    out = embed_cached(emb, texts, fresh)
    t_cached = time.perf_counter() - t
    assert out.shape == vectors.shape
    store = open_store(Path(tempfile.mkdtemp(dir=work)) / "c.db")
    db = repo.DbEmbeddingCache(store)
    db.put_many(emb.key, {h: vectors[j] for j, h in enumerate(hashes)})
    t = time.perf_counter()
    for i in range(0, n, 2500):
        db.get_many(emb.key, hashes[i : i + 2500])
    t_db = time.perf_counter() - t
    store.dispose()
    return {
        "sentences": len(texts),
        "embed_s": round(t_embed, 2),
        "disk_put_s": round(t_put, 2),
        "disk_lookup_s": round(t_disk, 2),
        "disk_mb": round(sum(p.stat().st_size for p in disk.model_dir(emb.key).glob("*")) / 2**20, 1),
        "embed_cached_warm_s": round(t_cached, 2),
        "db_lookup_s": round(t_db, 2),
        "shards": len(list(disk.model_dir(emb.key).glob("shard-*.parquet"))),
    }


def recode(n: int, work: Path, embedder: str) -> dict[str, Any]:
    """Code ``n`` ventures twice (another codebook the second time) with the disk cache, and once
    with the cache off; seconds of each run."""
    import simap.embed
    from simap.pipeline import Project

    data = build(work / f"rows-{n}.jsonl", n, "jsonl")
    db = Path(tempfile.mkdtemp(dir=work)) / "p.db"
    out: dict[str, Any] = {"ventures": n, "embedder": embedder}
    with Project.open(db) as project:
        project.import_path(data)
        t = time.perf_counter()
        project.code(codebook="sdg", embedder=embedder, workers=1)
        out["first_code_s (cold cache)"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        project.code(codebook="social-innovation", embedder=embedder, workers=1)
        out["recode_other_codebook_s (warm cache)"] = round(time.perf_counter() - t, 1)
        real = simap.embed.get_embedder

        def uncached(name: str, **params: Any) -> Any:
            emb = real(name, **params)
            emb.cache_worthy = False
            return emb

        simap.embed.get_embedder = uncached  # type: ignore[assignment]
        try:
            t = time.perf_counter()
            project.code(codebook="social-innovation", embedder=embedder, workers=1)
            out["recode_without_cache_s"] = round(time.perf_counter() - t, 1)
        finally:
            simap.embed.get_embedder = real
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--formats", nargs="*", default=["jsonl", "csv", "parquet"])
    ap.add_argument("--million", nargs="*", default=[], help="formats to import at 1M rows as well")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "simap-import-scale")
    ap.add_argument("--baseline", type=Path, help="src of another checkout to compare (10k and 100k)")
    ap.add_argument("--cache", action="store_true", help="only the embedding cache part")
    ap.add_argument("--no-cache", action="store_true", help="only the imports")
    ap.add_argument("--recode-ventures", type=int, default=300)
    ap.add_argument("--recode-embedder", default="minilm")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_import(*args.child)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "imports": [], "cache": {}}
    if not args.cache:
        plan = [(n, f) for n in args.sizes for f in args.formats]
        plan += [(1_000_000, f) for f in args.million if (1_000_000, f) not in plan]
        for n, fmt in plan:
            path = build(args.work / f"rows-{n}.{fmt}", n, fmt)
            for label, src in [("streaming", ROOT / "src")] + (
                [("before", args.baseline)] if args.baseline and n <= 100_000 and fmt != "parquet" else []
            ):
                r = measure(path, args.work, src) | {"format": fmt, "n": n, "import": label}
                print(json.dumps(r), flush=True)
                results["imports"].append(r)
    if args.no_cache:
        print(write_result("import_scale_imports", results))
        return
    results["cache"]["static_lookup_vs_embed"] = cache_lookup_vs_embed(100_000, args.work)
    print(json.dumps(results["cache"]), flush=True)
    results["cache"]["recode"] = recode(args.recode_ventures, args.work, args.recode_embedder)
    print(json.dumps(results["cache"]), flush=True)
    print(write_result("import_scale", results))


if __name__ == "__main__":
    main()
