"""Crash safety: ``kill -9`` during `simap import` and during `simap code`, at random moments.

Each trial starts from a committed baseline project (ventures imported, coded once, a few human
decisions), runs the command in its own process and kills it with SIGKILL after a random delay
within the command's normal duration. Then it checks:

* integrity: ``PRAGMA integrity_check`` is ``ok`` and ``PRAGMA foreign_key_check`` is empty;
* nothing committed is lost: every baseline venture, segment, assignment and human decision is
  still there, unchanged;
* atomicity: the killed command left either nothing or everything (an import: all the new
  ventures or none; coding: every machine suggestion from one run, never a mix);
* recovery: re-running the command completes, and running it once more changes nothing
  (idempotent).

    .venv/bin/python bench/crash.py [--kills 50] [--ventures 1000] [--seed 0]

Prints a summary and writes bench/out/crash.json; docs/benchmarks.md ("Crash safety") has the
numbers. ``tests/store/test_store_crash.py`` runs a few kills of the same trials (slow suite).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "farmers",
    "clinics",
    "teachers",
    "mobile",
    "money",
    "data",
    "open",
    "survey",
    "wiki",
    "solar",
    "water",
    "health",
    "schools",
    "volunteers",
    "maps",
    "markets",
    "youth",
    "women",
    "refugees",
    "lessons",
    "sensors",
    "radio",
    "credit",
    "records",
]


def write_ventures(path: Path, n: int, *, start: int = 0, seed: int = 0, tag: str = "") -> Path:
    """``n`` synthetic ventures (ids v<start>..) with a few sentences each, as JSONL."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            sentences = [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."
                for _ in range(rng.randint(3, 6))
            ]
            fh.write(
                json.dumps(
                    {
                        "id": f"v{i}",
                        "name": f"Venture {i}{tag}",
                        "country": rng.choice(["Kenya", "India", "Peru", "France"]),
                        "text": " ".join(sentences),
                    }
                )
                + "\n"
            )
    return path


def simap(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "simap.cli", "--quiet", *args],
        env=env or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def child_env() -> dict[str, str]:
    src = str(ROOT / "src")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": src + (os.pathsep + path if path else ""), "SIMAP_QUIET": "1"}


def run_ok(*args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = simap(*args)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"simap {' '.join(args)} failed: {err}")
    return time.perf_counter() - t0, out


def opened(pid: int, db: Path) -> bool:
    """True once process ``pid`` has the database file open (Linux: /proc/<pid>/fd)."""
    target = str(db.resolve())
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return Path(str(db) + "-wal").exists()  # no /proc: the WAL appears when it connects
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


def timed(args: list[str], db: Path) -> tuple[float, float]:
    """Run to completion; (seconds until the database was opened, seconds until the end)."""
    t0 = time.perf_counter()
    proc = simap(*args)
    t_open = None
    while proc.poll() is None:
        if t_open is None and opened(proc.pid, db):
            t_open = time.perf_counter() - t0
        time.sleep(0.01)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"simap {' '.join(args)} failed: {err}")
    end = time.perf_counter() - t0
    return (t_open if t_open is not None else end), end


def snapshot(db: Path) -> dict[str, Any]:
    """What is committed in ``db``: counts, ids, the machine rows' runs, the human decisions."""
    conn = sqlite3.connect(db)
    try:
        q = conn.execute
        return {
            "integrity": q("PRAGMA integrity_check").fetchone()[0],
            "fk_violations": len(q("PRAGMA foreign_key_check").fetchall()),
            "ventures": {r[0] for r in q("SELECT id FROM ventures")},
            "segments": q("SELECT count(*) FROM segments").fetchone()[0],
            "machine_runs": {
                r[0] for r in q("SELECT DISTINCT run_id FROM assignments WHERE source='machine'")
            },
            "machine_rows": q("SELECT count(*) FROM assignments WHERE source='machine'").fetchone()[0],
            "human": sorted(
                q(
                    "SELECT venture_id, code_id, coder, status FROM assignments WHERE source='human'"
                ).fetchall()
            ),
            "running_runs": q("SELECT count(*) FROM runs WHERE status='running'").fetchone()[0],
            "events": q("SELECT count(*) FROM events").fetchone()[0],
        }
    finally:
        conn.close()


def baseline(folder: Path, n: int, seed: int) -> dict[str, Any]:
    """The committed starting point and the files of the trials."""
    first = write_ventures(folder / "first.jsonl", n, seed=seed)
    # the second import: the same ventures with changed names and texts, and as many new ones
    second = write_ventures(folder / "second.jsonl", 2 * n, seed=seed + 1, tag=" (updated)")
    db = folder / "base.db"
    run_ok("import", str(first), "-p", str(db))
    run_ok("code", "-p", str(db), "-e", "fake", "-w", "1")
    for i, (code, status) in enumerate([("DP1", "accepted"), ("B2", "rejected"), ("DP4", "accepted")]):
        from simap.store import repo
        from simap.store.db import open_store

        store = open_store(db)
        repo.record_decision(
            store,
            venture_id=f"v{i}",
            code_id=code,
            coder="ana",
            status=status,
            codebook_version="manual",
        )
        store.dispose()
    shutil.copy2(db, folder / "probe.db")
    t_import, _ = run_ok("import", str(second), "-p", str(folder / "probe.db"))
    t_code, _ = run_ok("code", "-p", str(db), "-e", "fake", "-w", "1")
    # when the work starts: the coding run's row appears (before that the process only loads Python)
    shutil.copy2(db, folder / "probe.db")
    t0 = time.perf_counter()
    proc = simap("code", "-p", str(folder / "probe.db"), "-e", "fake", "-w", "1")
    t_start = t_code
    while proc.poll() is None:
        conn = sqlite3.connect(folder / "probe.db")
        try:
            if conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]:
                t_start = time.perf_counter() - t0
                break
        except sqlite3.OperationalError:
            pass
        finally:
            conn.close()
        time.sleep(0.02)
    proc.communicate()
    return {
        "db": db,
        "second": second,
        "t_import": t_import,
        "t_code": t_code,
        "t_start": min(t_start, t_code, t_import),
        "n": n,
    }


def trial(kind: str, base: dict[str, Any], work: Path, delay: float, *, twice: bool = True) -> dict[str, Any]:
    """One kill -9 of ``simap import`` or ``simap code`` after ``delay`` seconds, then checks."""
    db = work / f"{kind}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.copy2(base["db"], db)
    before = snapshot(db)
    args = (
        ["import", str(base["second"]), "-p", str(db)]
        if kind == "import"
        else ["code", "-p", str(db), "-e", "fake", "-w", "1"]
    )
    proc = simap(*args)
    while proc.poll() is None and not opened(proc.pid, db):  # Python and the libraries load first
        time.sleep(0.01)
    time.sleep(delay)  # then a random moment of the work (reading, coding, the transaction)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    after = snapshot(db)
    problems = []
    if after["integrity"] != "ok":
        problems.append(f"integrity: {after['integrity']}")
    if after["fk_violations"]:
        problems.append(f"{after['fk_violations']} foreign key violations")
    lost = before["ventures"] - after["ventures"]
    if lost:
        problems.append(f"{len(lost)} committed ventures lost")
    if after["human"] != before["human"]:
        problems.append("human decisions changed")
    if kind == "import":
        new = after["ventures"] - before["ventures"]
        if new and len(new) != base["n"]:
            problems.append(f"partial import: {len(new)} of {base['n']} new ventures")
        outcome = "committed" if new else "rolled back"
    else:
        if len(after["machine_runs"]) != 1 or after["machine_rows"] != before["machine_rows"]:
            problems.append(f"mixed machine rows: runs {after['machine_runs']}, {after['machine_rows']} rows")
        outcome = "committed" if after["machine_runs"] != before["machine_runs"] else "rolled back"
    # recovery: the command completes, and once more changes nothing
    t_open, t_end = timed(args, db)
    done = snapshot(db)
    if kind == "import" and len(done["ventures"]) != 2 * base["n"]:
        problems.append(f"re-run imported {len(done['ventures'])} ventures, not {2 * base['n']}")
    if kind == "code" and (len(done["machine_runs"]) != 1 or done["machine_rows"] != before["machine_rows"]):
        problems.append("re-run did not re-code every venture in one run")
    again = done
    if twice:
        _, again_out = run_ok(*args)
        again = snapshot(db)
        if kind == "import":
            if "0 new, 0 updated" not in " ".join(again_out.split()):
                problems.append(f"second re-run not idempotent: {again_out.strip()}")
            if again["segments"] != done["segments"] or again["ventures"] != done["ventures"]:
                problems.append("second re-run changed the data")
        elif again["machine_rows"] != done["machine_rows"] or len(again["machine_runs"]) != 1:
            problems.append("re-coding is not idempotent")
    if again["integrity"] != "ok" or again["fk_violations"]:
        problems.append("integrity after recovery")
    if kind == "code" and done["running_runs"]:
        problems.append(f"re-run left {done['running_runs']} runs 'running' (not marked interrupted)")
    return {
        "kind": kind,
        "delay": round(delay, 3),
        "killed": killed,
        "outcome": outcome,
        "stale_running_runs": after["running_runs"] - before["running_runs"],
        "idempotency_checked": twice,
        "work_seconds": round(t_end - t_open, 2),
        "problems": problems,
    }


def run(
    kills: int, n: int, seed: int, folder: Path | None = None, *, idempotency_every: int = 5
) -> dict[str, Any]:
    rng = random.Random(seed)
    tmp = Path(folder or tempfile.mkdtemp(prefix="simap-crash-"))
    base = baseline(tmp, n, seed)
    trials: list[dict[str, Any]] = []
    # how long the work takes once the database is open, per command (updated by each re-run)
    work = {
        "import": max(base["t_import"] - base["t_start"], 0.5),
        "code": max(base["t_code"] - base["t_start"], 0.5),
    }
    for i in range(kills):
        kind = "import" if i % 2 == 0 else "code"
        delay = rng.uniform(0.0, work[kind])  # a random moment of the work
        twice = i % idempotency_every < 2
        trials.append(trial(kind, base, tmp, delay, twice=twice))
        work[kind] = max(trials[-1]["work_seconds"], 0.2)
    summary = {
        "kills": kills,
        "ventures": n,
        "t_import_s": round(base["t_import"], 2),
        "t_code_s": round(base["t_code"], 2),
        "t_start_s": round(base["t_start"], 2),
        "idempotency_checks": sum(t["idempotency_checked"] for t in trials),
        "killed_mid_run": sum(t["killed"] for t in trials),
        "integrity_failures": sum(
            any("integrity" in p or "foreign" in p for p in t["problems"]) for t in trials
        ),
        "committed_rows_lost": sum(any("lost" in p or "human" in p for p in t["problems"]) for t in trials),
        "partial_writes": sum(any("partial" in p or "mixed" in p for p in t["problems"]) for t in trials),
        "recovery_failures": sum(
            any("re-run" in p or "idempotent" in p for p in t["problems"]) for t in trials
        ),
        "outcomes": {k: sum(t["outcome"] == k for t in trials) for k in ("committed", "rolled back")},
        "stale_running_runs": sum(t["stale_running_runs"] for t in trials),
        "trials": trials,
    }
    if folder is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--ventures", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import machine, write_result

    t0 = time.perf_counter()
    summary = run(args.kills, args.ventures, args.seed)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["machine"] = machine()
    for key in (
        "kills",
        "killed_mid_run",
        "integrity_failures",
        "committed_rows_lost",
        "partial_writes",
        "recovery_failures",
        "outcomes",
        "stale_running_runs",
        "t_import_s",
        "t_code_s",
        "t_start_s",
        "idempotency_checks",
        "seconds",
    ):
        print(f"{key:>22}: {summary[key]}")
    bad = [t for t in summary["trials"] if t["problems"]]
    for t in bad:
        print("PROBLEM", t)
    print("written", write_result("crash", summary))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
