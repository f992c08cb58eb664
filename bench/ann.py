"""Nearest neighbours at 10k / 100k / 1M vectors: ``exact`` against ``usearch`` (issue 14).

Vectors: real sentences of ../shared/data (DPG descriptions, NTEE missions and programmes),
segmented as simap segments them and embedded with the ``static`` model (dim 256), then
recombined to reach 1M: each vector is ``normalise(a + w * b)`` for two random real sentences
``a``, ``b`` and ``w ~ U(0, 1)``. So every vector lies near a real sentence and between real
sentences: clustered like real text, not uniform noise. The 1,000 queries are new combinations
made the same way (not in the index). Ground truth: ``exact``.

Per size and backend: build seconds, index memory, recall@10 over the queries, single-query
latency (p50/p95, one query per call through ``VectorIndex.search``), and the batch throughput.

    PYTHONPATH=src python bench/ann.py [--sizes 10000,100000,1000000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import numpy as np

import _common
from simap.embed.index import build_index

K = 10


def sentences() -> list[str]:
    import pandas as pd

    from simap.ingest.segment import segment_documents

    docs = []
    for line in _common.shared("dpg_ventures.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        docs.append(str(row.get("description") or ""))
    for line in _common.shared("ntee_4000.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        docs.extend(str(v) for k, v in row.items() if isinstance(v, str) and len(v) > 40 and k != "name")
    frame = pd.DataFrame(
        [{"venture_id": str(i), "field": "t", "text": t} for i, t in enumerate(docs) if t.strip()]
    )
    seg = segment_documents(frame)
    return list(dict.fromkeys(t.strip() for t in seg["text"].astype(str) if len(t.strip()) > 20))


def base_vectors(cache: Path) -> np.ndarray:
    if cache.exists():
        return np.load(cache)
    from simap.embed import get_embedder

    texts = sentences()
    vecs = np.asarray(get_embedder("static").embed(texts), dtype=np.float32)
    vecs = vecs[np.linalg.norm(vecs, axis=1) > 0]
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vecs)
    return vecs


def recombine(base: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    step = 100_000
    for s in range(0, n, step):
        m = min(step, n - s)
        a = rng.integers(0, len(base), m)
        b = rng.integers(0, len(base), m)
        w = rng.random(m, dtype=np.float32)[:, None]
        v = base[a] + w * base[b]
        out[s : s + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def latency(index: object, queries: np.ndarray, n: int) -> dict[str, float]:
    times = []
    for i in range(min(n, len(queries))):
        t0 = time.perf_counter()
        index.search(queries[i : i + 1], K)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
    }


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def memory_mb(index: object) -> float:
    inner = getattr(index, "_index", None)
    if inner is not None:
        return round(float(inner.memory_usage) / 2**20, 1)
    return round(float(index.vectors().nbytes) / 2**20, 1)  # type: ignore[attr-defined]


def run(sizes: list[int], configs: list[dict[str, object]], n_queries: int, sweep: list[int]) -> dict:
    base = base_vectors(_common.OUT / "ann_base_static.npy")
    print(f"{len(base)} real sentence vectors, dim {base.shape[1]}", flush=True)
    queries = recombine(base, n_queries, seed=1)
    rows = []
    for n in sizes:
        data = recombine(base, n, seed=2)
        t0 = time.perf_counter()
        exact = build_index(data, backend="exact")
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        truth, _ = exact.search(queries, K)
        batch_s = time.perf_counter() - t0
        lat = latency(exact, queries, 200 if n >= 500_000 else n_queries)
        rows.append(
            {
                "n": n,
                "backend": "exact",
                "params": "",
                "build_s": round(build_s, 2),
                "memory_mb": memory_mb(exact),
                "recall10": 1.0,
                **lat,
                "batch_qps": round(n_queries / batch_s, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        for cfg in configs:
            gc.collect()
            t0 = time.perf_counter()
            ann = build_index(data, backend="usearch", threads=0, **cfg)  # type: ignore[arg-type]
            build_s = time.perf_counter() - t0
            efs = sweep if n == max(sizes) else [int(cfg.get("expansion_search", 96))]  # type: ignore[call-overload]
            for ef in efs:
                ann.expansion_search = ef  # type: ignore[attr-defined]
                t0 = time.perf_counter()
                found, _ = ann.search(queries, K)
                batch_s = time.perf_counter() - t0
                lat = latency(ann, queries, n_queries)
                params = ",".join(f"{k}={v}" for k, v in {**cfg, "expansion_search": ef}.items())
                rows.append(
                    {
                        "n": n,
                        "backend": "usearch",
                        "params": params,
                        "build_s": round(build_s, 2),
                        "memory_mb": memory_mb(ann),
                        "recall10": round(recall(found, truth), 4),
                        **lat,
                        "batch_qps": round(n_queries / batch_s, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
            del ann
        del exact, data
        gc.collect()
    return {
        "n_base_sentences": len(base),
        "dim": int(base.shape[1]),
        "queries": n_queries,
        "k": K,
        "rows": rows,
    }


def table(result: dict) -> str:
    lines = [
        "| vectors | backend | parameters | build s | index MB | recall@10 | p50 ms | p95 ms | batch q/s |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['n']:,} | {r['backend']} | {r['params']} | {r['build_s']} | {r['memory_mb']} | "
            f"{r['recall10']:.3f} | {r['p50_ms']} | {r['p95_ms']} | {r['batch_qps']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dtypes", default="f16,f32,i8")
    ap.add_argument("--sweep", default="32,64,96,128,200")
    ap.add_argument("--connectivity", type=int, default=16)
    ap.add_argument("--expansion-add", type=int, default=128)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    configs = [
        {"connectivity": args.connectivity, "expansion_add": args.expansion_add, "dtype": d}
        for d in args.dtypes.split(",")
    ]
    result = run(sizes, configs, args.queries, [int(s) for s in args.sweep.split(",")])
    result["peak_rss_mb"] = _common.peak_rss_mb()
    path = _common.write_result("ann", result)
    print(table(result))
    print(f"peak RSS {result['peak_rss_mb']} MB; written {path}")


if __name__ == "__main__":
    main()
