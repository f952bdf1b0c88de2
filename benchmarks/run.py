"""Run every ``benchmarks/bench_*.py`` in order, each in its own Python process.

Output is streamed as it comes; the exit status is non-zero if any benchmark failed.
Used by ``make bench`` as ``uv run python benchmarks/run.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if not scripts:
        print(f"no bench_*.py found in {HERE}", file=sys.stderr)
        return 1
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    failed: list[str] = []
    for script in scripts:
        print(f"=== {script.name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, check=False)  # noqa: S603 - our own scripts
        elapsed = time.perf_counter() - started
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        print(f"=== {script.name}: {status} in {elapsed:.1f} s", flush=True)
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(
            f"{len(failed)} of {len(scripts)} benchmarks failed: {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    print(f"all {len(scripts)} benchmarks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
