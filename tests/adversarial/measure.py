"""Running a command line of budgetwatch in its own process and measuring it: exit status, output, wall time, and the
peak resident memory of the largest process of its tree (it, or any process it started and waited for)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# a parent of its own, so that the peak it reports covers the measured command's tree and nothing else
_WRAPPER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


@dataclass(frozen=True)
class Measured:
    status: int
    out: str
    err: str
    peak_bytes: int
    seconds: float


def run_measured(args: list[str], env: dict[str, str], tmp: Path, timeout: float = 600) -> Measured:
    """`python -m budgetwatch.cli.main ARGS…` under `env`; fails the test when it runs past `timeout`."""
    import pytest  # noqa: PLC0415

    peak_file = tmp / f"peak-{time.monotonic_ns()}"
    command = [sys.executable, "-c", _WRAPPER, str(peak_file), sys.executable, "-m", "budgetwatch.cli.main", *args]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, check=False, capture_output=True, cwd=ROOT, env={**os.environ, **env}, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"budgetwatch {' '.join(args[:2])} hung past {timeout} s")
    peak = int(peak_file.read_text()) * 1024 if peak_file.exists() else 0
    return Measured(done.returncode, done.stdout.decode(), done.stderr.decode(), peak, time.monotonic() - started)
