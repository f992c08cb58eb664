"""Latency of the review workbench under load: 10,000 ventures, 20 concurrent users, uvicorn on
loopback (`simap serve`, one process, SQLite), httpx with asyncio.

Three phases, each bounded in time: the venture list (first page and a filtered, searched page),
a venture page, and a review action (accept/reject through the page form). Prints a table and
writes bench/out/web_latency.json; docs/benchmarks.md ("Web workbench") has the numbers.

    .venv/bin/python bench/web_latency.py [--ventures 10000] [--users 20] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, write_result

PASSWORD = "bench password 123"
WORDS = [
    "farmers",
    "clinics",
    "teachers",
    "mobile",
    "money",
    "data",
    "open",
    "source",
    "maps",
    "volunteers",
    "community",
    "health",
    "records",
    "schools",
    "offline",
    "solar",
    "water",
    "refugees",
    "identity",
    "payments",
    "markets",
    "women",
    "youth",
    "training",
    "sensors",
]
TEMPLATES = [
    "We help {a} reach {b} through {c}.",
    "Our platform lets {a} share {b} with {c}.",
    "The team works with local {a} to collect {b}.",
    "Every {a} can reuse our {b} and adapt it for {c}.",
    "Funding from {a} keeps the {b} free for {c}.",
    "We train {a} to use {b} in rural {c}.",
]


def build_project(path: Path, n: int, users: int) -> dict[str, Any]:
    """A project with ``n`` synthetic ventures, machine suggestions for every code, and users."""
    from simap import codebook as cb
    from simap.batches import IngestBatch
    from simap.ingest.segment import segment_documents
    from simap.store import accounts, open_store, repo

    rng = random.Random(0)
    t0 = time.perf_counter()
    store = open_store(path)
    ventures, docs = [], []
    countries = ["Kenya", "India", "Brazil", "Nigeria", "Peru", "Indonesia", "Ghana", "Mexico"]
    sectors = ["Health", "Education", "Agriculture", "Finance", "Energy", "Governance"]
    for i in range(n):
        vid = f"v{i:05d}"
        text = " ".join(
            t.format(a=rng.choice(WORDS), b=rng.choice(WORDS), c=rng.choice(WORDS))
            for t in rng.sample(TEMPLATES, 4)
        )
        ventures.append(
            {
                "id": vid,
                "name": f"Venture {rng.choice(WORDS).title()} {i}",
                "country": rng.choice(countries),
                "sector": rng.choice(sectors),
                "year": 2010 + i % 12,
                "metadata": {},
                "source": "bench",
            }
        )
        docs.append({"venture_id": vid, "field": "description", "text": text})
    vf, df = pd.DataFrame(ventures), pd.DataFrame(docs)
    repo.upsert_ventures(store, IngestBatch(vf, df), segment_documents(df), actor="bench", source="bench")
    book = cb.load(cb.DEFAULT_CODEBOOK)
    version = repo.save_codebook(store, book)
    run = repo.start_run(store, kind="code", codebook_version=version, model="bench-machine", params={})
    nprng = np.random.default_rng(0)
    rows = []
    for d in docs:
        first = d["text"].split(". ")[0] + "."
        for code in book.ids():
            score = float(nprng.beta(1.2, 3.0))
            rows.append(
                {
                    "venture_id": d["venture_id"],
                    "code_id": code,
                    "score": score,
                    "raw": score,
                    "evidence": [
                        {"field": "description", "start": 0, "end": len(first), "text": first, "score": score}
                    ],
                }
            )
    repo.save_machine_suggestions(
        store, pd.DataFrame(rows), coder="bench-machine", codebook_version=version, run_id=run
    )
    repo.finish_run(store, run)
    import argon2

    fast = argon2.PasswordHasher(time_cost=1, memory_cost=1024)
    accounts._hasher = lambda: fast  # type: ignore[attr-defined]  # building only; login verifies any params
    for u in range(users):
        accounts.add_user(store, f"user{u:02d}", PASSWORD, role="analyst")
    store.dispose()
    return {
        "ventures": n,
        "suggestions": len(rows),
        "codes": book.ids(),
        "build_seconds": round(time.perf_counter() - t0, 1),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


async def login(client: Any, name: str) -> str:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 303, r.text
    home = await client.get("/")
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', home.text).group(1)  # type: ignore[union-attr]


async def phase(
    clients: list[tuple[Any, str]], make: Any, seconds: float, think: float = 0.0
) -> dict[str, Any]:
    """Every client loops ``make(client, csrf, i)`` for ``seconds``; returns latency stats (ms).

    With ``think``, each user starts after a random 0-``think`` s and pauses 0.5-1.5 x ``think`` s
    between requests (without the staggered start, all users fire together at the start of every
    phase and that one burst of 20 queued requests alone sets the p95).
    """
    lat: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def user(k: int, client: Any, csrf: str) -> None:
        nonlocal errors
        i = k
        if think:  # users who read between clicks do not all click at the same instant
            await asyncio.sleep(think * random.random())
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            r = await make(client, csrf, i)
            lat.append((time.perf_counter() - t) * 1000)
            if r.status_code >= 400:
                errors += 1
            i += len(clients)
            if think:
                await asyncio.sleep(think * (0.5 + random.random()))

    t0 = time.perf_counter()
    await asyncio.gather(*(user(k, c, s) for k, (c, s) in enumerate(clients)))
    wall = time.perf_counter() - t0
    return {
        "requests": len(lat),
        "errors": errors,
        "rps": round(len(lat) / wall, 1),
        "p50_ms": round(pct(lat, 50), 1),
        "p95_ms": round(pct(lat, 95), 1),
        "p99_ms": round(pct(lat, 99), 1),
    }


async def load(
    base: str, users: int, seconds: float, n: int, codes: list[str], think: float
) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=users + 5)
    clients = [httpx.AsyncClient(base_url=base, timeout=60, limits=limits) for _ in range(users)]
    try:
        pairs = [(c, await login(c, f"user{u:02d}")) for u, c in enumerate(clients)]
        rng = random.Random(1)

        async def vlist(c: Any, csrf: str, i: int) -> Any:
            if i % 2:
                return await c.get(f"/ventures?page={1 + i % 50}")
            return await c.get(f"/ventures?q={rng.choice(WORDS)}&code={rng.choice(codes)}&min_score=0.5")

        async def vpage(c: Any, csrf: str, i: int) -> Any:
            return await c.get(f"/ventures/v{rng.randrange(n):05d}")

        async def action(c: Any, csrf: str, i: int) -> Any:
            vid = f"v{rng.randrange(n):05d}"
            data = {
                "csrf_token": csrf,
                "code_id": rng.choice(codes),
                "action": rng.choice(["accept", "reject"]),
            }
            return await c.post(f"/ventures/{vid}/decide", data=data)

        for c, _ in pairs[:2]:  # warm up caches and connections
            await c.get("/ventures")
            await c.get("/ventures/v00001")
        out = {}
        for name, fn in (("venture list", vlist), ("venture page", vpage), ("review action", action)):
            out[name] = await phase(pairs, fn, seconds, think)
            print(f"  {name:<14} {out[name]}", flush=True)
        return out
    finally:
        for c in clients:
            await c.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ventures", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=1, help="simap serve --workers")
    ap.add_argument("--think", type=float, default=0.0, help="seconds each user waits between requests")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="simap-weblat-") as tmp:
        db = Path(tmp) / "bench.db"
        print(f"building a project with {args.ventures} ventures ...", flush=True)
        built = build_project(db, args.ventures, args.users)
        print(f"  {built['suggestions']} machine suggestions in {built['build_seconds']} s", flush=True)
        port = free_port()
        env = dict(os.environ, SIMAP_SECRET_KEY="bench")
        server = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "simap"),
                "serve",
                "-p",
                str(db),
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            import httpx

            for _ in range(200):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            results = asyncio.run(
                load(
                    f"http://127.0.0.1:{port}",
                    args.users,
                    args.seconds,
                    args.ventures,
                    built["codes"],
                    args.think,
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    payload = {
        "ventures": args.ventures,
        "users": args.users,
        "seconds_per_phase": args.seconds,
        "think_seconds": args.think,
        "workers": args.workers,
        "server": f"simap serve (uvicorn, {args.workers} process(es)), SQLite WAL",
        "build": built,
        "results": results,
    }
    name = (
        "web_latency"
        + (f"_w{args.workers}" if args.workers > 1 else "")
        + (f"_think{args.think:g}" if args.think else "")
    )
    path = write_result(name, payload)
    print("\n| request | requests | p50 ms | p95 ms | p99 ms | req/s | errors |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['requests']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['rps']} "
            f"| {r['errors']} |"
        )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
