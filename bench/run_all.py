"""Run every benchmark and write bench/out/*.json (numbers go into docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "calibrate_zeroshot.py",
    "coding_quality.py",
    "throughput.py",
    "learning.py",
    "discover_quality.py",
    "report_speed.py",
    "advise_quality.py",
    "web_latency.py",
]

if __name__ == "__main__":
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True, cwd=HERE)
