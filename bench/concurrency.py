"""Concurrent reviewers and coding while reviewing (issue 12 item 11).

1. Racing reviewers: for each of ``--pairs`` venture x code pairs, two threads decide at the same
   instant from the same view (``base`` = the version both read). Exactly one must win and the
   other get Conflict (HTTP 409); the pair must have exactly one decision event.
2. `simap code` while the web serves reviews: ``--runs`` `simap code` processes one after the
   other while two logged-in reviewers (in-process TestClient) decide and read pages in a loop.
   Counts requests, failures, "database is locked" errors and decision latency.

    .venv/bin/python bench/concurrency.py [--pairs 200] [--runs 3] [--database URL]

SQLite by default (a temporary file); ``--database postgresql+psycopg://...`` for PostgreSQL.
Writes bench/out/concurrency.json; docs/benchmarks.md ("Crash safety and concurrency").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PASSWORD = "bench password 123"


def race(proj: Any, pairs: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from simap.errors import Conflict
    from simap.review import actions
    from simap.store import repo
    from simap.store.schema import Event

    book = proj.current_codebook()
    ids = sorted(repo.load_ventures(proj.store)["id"])
    todo = [(v, c) for c in book.ids() for v in ids][:pairs]
    ok = conflict = errors = 0
    bad_pairs = 0
    lock = threading.Lock()
    t0 = time.perf_counter()
    for vid, code in todo:
        base = repo.pair_version(proj.store, vid, code)
        barrier = threading.Barrier(2)
        results: list[str] = []

        def work(
            user: str,
            vid: str = vid,
            code: str = code,
            base: int = base,
            b: Any = barrier,
            results: list[str] = results,
        ) -> None:
            b.wait()
            try:
                actions.decide(
                    proj.store, book, venture_id=vid, code_id=code, user=user, status="accepted", base=base
                )
                out = "ok"
            except Conflict:
                out = "409"
            except Exception as exc:
                out = f"error: {exc}"
            with lock:
                results.append(out)

        threads = [threading.Thread(target=work, args=(u,)) for u in ("ana", "ben")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok += results.count("ok")
        conflict += results.count("409")
        errors += sum(r.startswith("error") for r in results)
        with proj.store.engine.connect() as conn:
            n = conn.execute(
                select(func.count()).where(Event.entity == "assignment", Event.entity_id == f"{vid}:{code}")
            ).scalar_one()
        bad_pairs += int(sorted(results) != ["409", "ok"] or n != 1)
    return {
        "pairs": len(todo),
        "won": ok,
        "refused_409": conflict,
        "errors": errors,
        "pairs_not_exactly_one_decision": bad_pairs,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def code_while_reviewing(proj: Any, target: str, runs: int, tmp: Path) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from simap.store import accounts, repo
    from simap.web.app import create_app
    from simap.web.settings import Settings

    for name in ("ana", "ben"):
        accounts.add_user(proj.store, name, PASSWORD, role="analyst")
    app = create_app(
        Settings(project=proj.store.url, secret_key="bench", upload_dir=tmp / "uploads"), store=proj.store
    )
    import re

    def login(name: str) -> tuple[TestClient, str]:
        c = TestClient(app, follow_redirects=False)
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', c.get("/login").text).group(1)
        c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', c.get("/").text).group(1)
        return c, token

    clients = [login("ana"), login("ben")]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SIMAP_QUIET": "1"}
    script = (
        "import sys\nfrom simap.cli import main\ndb, n = sys.argv[1], int(sys.argv[2])\n"
        "for _ in range(n):\n"
        "    sys.argv = ['simap', 'code', '-p', db, '-e', 'fake', '-w', '1']\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code, e.code\n"
    )
    coder = subprocess.Popen(
        [sys.executable, "-c", script, target, str(runs)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ids = sorted(repo.load_ventures(proj.store)["id"])[:20]
    book = proj.current_codebook()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    i = 0
    t0 = time.perf_counter()
    while coder.poll() is None:
        for (c, token), code in zip(clients, book.ids()[:2], strict=True):
            vid = ids[i % len(ids)]
            t = time.perf_counter()
            r = c.post(
                f"/ventures/{vid}/decide",
                data={"code_id": code, "action": "accept" if i % 2 else "reject", "csrf_token": token},
            )
            latencies.append(time.perf_counter() - t)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            r = c.get(f"/ventures/{vid}")
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        i += 1
    _, err = coder.communicate()
    lat = np.array(latencies) * 1000
    return {
        "code_runs": runs,
        "code_exit": coder.returncode,
        "locked_errors": err.lower().count("locked"),
        "seconds": round(time.perf_counter() - t0, 1),
        "decisions": len(latencies),
        "statuses": statuses,
        "decision_ms_p50_p95_max": [round(float(np.percentile(lat, q)), 1) for q in (50, 95)]
        + [round(float(lat.max()), 1)]
        if len(lat)
        else [],
    }


def main() -> None:
    from _common import write_result
    from simap.demo import VENTURES_PATH
    from simap.pipeline import Project

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="simap-conc-"))
    target = str(tmp / "p.db")
    admin = schema = None
    if args.database:  # a fresh schema of that database, dropped at the end
        import uuid

        import sqlalchemy as sa

        schema = "bench_" + uuid.uuid4().hex[:10]
        admin = sa.create_engine(args.database, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in args.database else "?"
        target = f"{args.database}{sep}options=-csearch_path%3D{schema}"
    proj = Project.open(target)
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    result = {
        "database": "postgresql" if "://" in target else "sqlite",
        "race": race(proj, args.pairs),
        "code_while_reviewing": code_while_reviewing(proj, target, args.runs, tmp),
    }
    proj.close()
    if admin is not None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
    for key, value in result.items():
        print(f"{key}: {value}")
    print("written", write_result("concurrency" + ("-pg" if "://" in target else ""), result))


if __name__ == "__main__":
    main()
