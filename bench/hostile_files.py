"""Hostile input files: how fast and in how much memory ``simap.ingest.read`` refuses each.

Every case of tests/ingest/hostile.py (zip bombs, XXE and billion laughs in XLSX/DOCX, 100 MB
lines, an unclosed CSV quote, 200k columns, deep nesting, huge numbers, UTF-16/UTF-32/Latin-1,
binary junk) is written to a temporary folder and read in a fresh Python process, which reports
the wall time of the refusal, the peak resident memory of the process (``ru_maxrss``) and that
peak minus the memory after the imports. The goal (issue 12) is a SimapError in under 2 s and
200 MB for each. Prints a table and writes bench/out/hostile_files.json.

    .venv/bin/python bench/hostile_files.py [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, write_result

sys.path.insert(0, str(ROOT))
from tests.ingest.hostile import HOSTILE

CHILD = r"""
import json, resource, sys, time
import simap.ingest
from simap.errors import SimapError
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
error = None
try:
    simap.ingest.read(sys.argv[1])
    outcome = "read (no error!)"
except SimapError as exc:
    outcome, error = type(exc).__name__, str(exc)
except BaseException as exc:
    outcome, error = "CRASH " + type(exc).__name__, str(exc)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "error": (error or "")[:300], "seconds": seconds,
                  "rss_mb": peak / 1024, "rss_growth_mb": (peak - base) / 1024}))
"""
SECONDS, MEMORY_MB = 2.0, 200.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    ap.add_argument("--src", default=str(ROOT / "src"), help="simap sources to measure")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=args.src)
    rows = []
    with tempfile.TemporaryDirectory(prefix="simap-hostile-") as tmp:
        for name, (make, words) in HOSTILE.items():
            if args.only and args.only not in name:
                continue
            folder = Path(tmp) / str(len(rows))
            folder.mkdir()
            t0 = time.perf_counter()
            path = make(folder)
            made = time.perf_counter() - t0
            try:
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(path)],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {}
            except subprocess.TimeoutExpired:
                out = subprocess.CompletedProcess([], 1, "", "timed out after 60 s")
                result = {}
            ok = (
                result.get("outcome", "").endswith(("Error", "InvalidInput"))
                and not result["outcome"].startswith("CRASH")
                and words in result.get("error", "")
                and result["seconds"] < SECONDS
                and result["rss_mb"] < MEMORY_MB
            )
            rows.append(
                {
                    "case": name,
                    "file_mb": round(path.stat().st_size / (1 << 20), 2),
                    "make_seconds": round(made, 2),
                    **{k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
                    "ok": ok,
                    "stderr": out.stderr[-300:] if out.returncode else "",
                }
            )
            path.unlink()
    print(f"{'case':32} {'file MB':>8} {'seconds':>8} {'peak RSS MB':>12} {'growth MB':>10}  result")
    for r in rows:
        print(
            f"{r['case']:32} {r['file_mb']:8.1f} {r.get('seconds', float('nan')):8.3f} "
            f"{r.get('rss_mb', float('nan')):12.1f} {r.get('rss_growth_mb', float('nan')):10.1f}  "
            f"{'ok' if r['ok'] else 'FAIL'} {r.get('outcome', r['stderr'])}"
        )
    worst_s = max((r.get("seconds", 0.0) for r in rows), default=0.0)
    worst_mb = max((r.get("rss_mb", 0.0) for r in rows), default=0.0)
    print(f"\n{sum(r['ok'] for r in rows)}/{len(rows)} refused cleanly; slowest {worst_s:.3f} s, ", end="")
    print(f"largest peak RSS {worst_mb:.0f} MB (limits {SECONDS} s, {MEMORY_MB:.0f} MB)")
    path = write_result(
        "hostile_files" if args.src == str(ROOT / "src") else "hostile_files_other_src",
        {"machine": machine(), "limits": {"seconds": SECONDS, "memory_mb": MEMORY_MB}, "cases": rows},
    )
    print(f"wrote {path}")
    if not all(r["ok"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
