"""Discovery at scale (issue 14): the micro-clustering strategy on 10k, 100k and 1M sentences (2 cores).

Corpora (deterministic, seed 0), from the real DPG and NTEE texts in ../shared/data:

- the *pool*: every distinct sentence of 4 words or more of both files (segmented as on import),
  with its venture;
- ``10k``: a seeded sample of 10,000 pool sentences (real sentences only, no variation);
- ``100k`` and ``1m``: the whole pool plus synthetic sentences up to N. Each synthetic sentence is
  a pool sentence drawn at random (sentence sampling across ventures) with light variation: one
  word dropped at random, a second with probability 1/2, and with probability 1/2 ``" in
  <country>"`` appended (the countries named in the DPG file). Synthetic sentences belong to
  synthetic ventures of about 10 sentences each.

Each run is a fresh process (peak RSS is per run) that embeds with the static model inside
``ThemeModel.fit`` (the time spent in ``embed`` is measured by a wrapper and reported separately)
and clusters with ``strategy="direct"`` (today's path) or ``"micro"``. Settings as in
bench/discover_quality.py: unigram labels, ``min_ventures=1``, default number of themes; seeds
0, 1 and 2 at 10k and 100k (k-means results vary by seed), seed 0 at 1M.
Quality as there: NPMI of each topic's top 10 words (binary occurrence per sentence, -1 for pairs
that never co-occur, mean over topics) and diversity (unique share of the top-10 words), both
from simap.discover.ctfidf; NPMI twice: over the run's own sentences (the definition of the
existing bench) and over the fixed real pool (the same reference documents for every run).

Results are kept per run in /tmp/simap_discover_scale/ (a rerun skips the runs already done;
``--force`` redoes them), and collected in bench/out/discover_scale.json.

    nice -n 10 flock /work/wt/cpu.lock python bench/discover_scale.py [--runs direct-10k micro-1m ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import _common

CACHE = Path("/tmp/simap_discover_scale")
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
RUNS = [
    *(f"{m}-10k-s{s}" for m in ("direct", "micro", "micro_ward") for s in range(3)),
    *(f"{m}-100k-s{s}" for m in ("direct", "micro") for s in range(3)),
    "micro-1m-s0",
]


def pool() -> tuple[list[str], list[str], list[str]]:
    """(distinct real sentences, their venture ids, the countries named in the DPG file)."""
    from simap.ingest import read
    from simap.ingest.segment import segment_documents

    texts: list[str] = []
    vids: list[str] = []
    seen: set[str] = set()
    for name, kw in (("dpg_ventures.jsonl", {}), ("ntee_4000.jsonl", {"skip_invalid": True})):
        batch = read(_common.shared(name), **kw)
        segs = segment_documents(batch.documents)
        for vid, text in zip(segs["venture_id"].astype(str), segs["text"].astype(str), strict=True):
            key = text.strip().lower()
            if len(text.split()) >= 4 and key not in seen:
                seen.add(key)
                texts.append(text)
                vids.append(f"r{vid}")
    countries: set[str] = set()
    with open(_common.shared("dpg_ventures.jsonl"), encoding="utf-8") as fh:
        for line in fh:
            countries.update(str(c) for c in json.loads(line).get("countries") or [])
    return texts, vids, sorted(countries)


def corpus(n: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """(texts, venture ids, the real pool) for N sentences (see the module docstring)."""
    base, base_vids, countries = pool()
    rng = np.random.default_rng(seed)
    if n <= len(base):
        idx = np.sort(rng.choice(len(base), size=n, replace=False))
        return [base[i] for i in idx], [base_vids[i] for i in idx], base
    texts, vids = list(base), list(base_vids)
    extra = n - len(base)
    picks = rng.integers(0, len(base), size=extra)
    u = rng.random((extra, 4))
    n_syn = max(1, extra // 10)
    owners = rng.integers(0, n_syn, size=extra)
    for j in range(extra):
        words = base[int(picks[j])].split()
        drop = int(u[j, 0] * len(words))
        words = words[:drop] + words[drop + 1 :]
        if u[j, 1] < 0.5 and len(words) > 3:
            drop = int(u[j, 2] * len(words))
            words = words[:drop] + words[drop + 1 :]
        text = " ".join(words)
        if u[j, 3] < 0.5:
            text += f" in {countries[int(u[j, 3] * 2 * len(countries)) % len(countries)]}"
        texts.append(text)
        vids.append(f"s{int(owners[j])}")
    return texts, vids, base


class TimedEmbedder:
    """Wraps an embedder and adds up the seconds spent in ``embed``."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.key = getattr(inner, "key", "timed")
        self.seconds = 0.0
        self.calls = 0
        self.rows = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.embed(texts)  # type: ignore[attr-defined]
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.rows += len(texts)
        return np.asarray(out)


def run(name: str) -> dict[str, object]:
    from simap.discover.ctfidf import diversity, npmi
    from simap.discover.themes import ThemeModel
    from simap.embed import get_embedder

    method, size, seed_tag = name.split("-")
    seed = int(seed_tag[1:])
    strategy, _, clusterer = method.partition("_")
    t0 = time.perf_counter()
    texts, vids, reference = corpus(SIZES[size])
    t_corpus = time.perf_counter() - t0
    emb = TimedEmbedder(get_embedder("static"))
    emb.embed(["warm up the model"])
    emb.seconds, emb.calls, emb.rows = 0.0, 0, 0
    t1 = time.perf_counter()
    model = ThemeModel(
        emb,  # type: ignore[arg-type]
        ngram_range=(1, 1),
        seed=seed,
        min_ventures=1,
        strategy=strategy,
        theme_clusterer=clusterer or "kmeans",
    ).fit(texts, vids)
    total = time.perf_counter() - t1
    peak = _common.peak_rss_mb()
    topics = [t.terms for t in model.themes_]
    t2 = time.perf_counter()
    own = float(np.nanmean(npmi(topics, texts)))
    ref = float(np.nanmean(npmi(topics, reference)))
    t_metric = time.perf_counter() - t2
    return {
        "run": name,
        "seed": seed,
        "strategy": model.strategy_,
        "theme_clusterer": clusterer or "kmeans",
        "sentences": len(texts),
        "distinct_sentences": len({t.strip().lower() for t in texts}),
        "micro_centroids": model.n_micro_,
        "themes": len(topics),
        "embed_seconds": round(emb.seconds, 1),
        "embedded_rows": emb.rows,
        "cluster_seconds": round(total - emb.seconds, 1),
        "total_seconds": round(total, 1),
        "peak_rss_mb": peak,
        "npmi_own": round(own, 4),
        "npmi_pool": round(ref, 4),
        "diversity": round(diversity(topics), 4),
        "corpus_seconds": round(t_corpus, 1),
        "metric_seconds": round(t_metric, 1),
        "examples": [" ".join(t[:5]) for t in topics[:8]],
    }


def child(name: str, timeout: float, force: bool) -> dict[str, object]:
    CACHE.mkdir(parents=True, exist_ok=True)
    done = CACHE / f"{name}.json"
    if done.exists() and not force:
        return dict(json.loads(done.read_text()))
    cmd = [sys.executable, __file__, "--child", name]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"run": name, "error": f"timed out after {timeout:.0f}s"}
    if proc.returncode != 0:
        return {"run": name, "error": proc.stderr.strip().splitlines()[-3:]}
    res = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    done.write_text(json.dumps(res))
    return res


def table(results: list[dict[str, object]]) -> str:
    head = (
        "| run | sentences (distinct) | micro-centroids | themes | embed s | cluster + label s | total s "
        "| peak RSS MB | NPMI own | NPMI pool | diversity |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [head]
    for r in results:
        if "error" in r:
            rows.append(f"| {r['run']} | error: {r['error']} |")
            continue
        rows.append(
            f"| {r['run']} | {r['sentences']:,} ({r['distinct_sentences']:,}) "
            f"| {r['micro_centroids'] or '-'} "
            f"| {r['themes']} | {r['embed_seconds']} | {r['cluster_seconds']} | {r['total_seconds']} "
            f"| {r['peak_rss_mb']:,.0f} | {r['npmi_own']:.3f} | {r['npmi_pool']:.3f} | {r['diversity']:.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", nargs="+", default=RUNS, choices=RUNS)
    parser.add_argument("--child")
    parser.add_argument("--force", action="store_true", help="redo runs already in /tmp/simap_discover_scale")
    parser.add_argument("--timeout", type=float, default=1800)
    ns = parser.parse_args()
    if ns.child:
        print(json.dumps(run(ns.child)))
        return
    results = []
    for name in ns.runs:
        res = child(name, ns.timeout, ns.force)
        print(json.dumps(res), flush=True)
        results.append(res)
    path = _common.write_result("discover_scale", {"results": results})
    print(table(results))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
