"""Time and peak memory of `budgetwatch check` on each hostile document of the adversarial corpus, one run each.

    python bench/hostile.py                     # every kind
    python bench/hostile.py pdf-flate html-     # kinds whose name holds one of these

Each kind is checked alone in its own process tree under the default limits (BUDGETWATCH_… in the environment apply);
the peak is the largest resident size of any process of the run (the command or a reading process it started).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.adversarial.documents import DOCUMENT_PROBES  # noqa: E402
from tests.adversarial.measure import run_measured  # noqa: E402


def main(patterns: list[str]) -> None:
    chosen = [p for p in DOCUMENT_PROBES if not patterns or any(s in p.name for s in patterns)]
    with tempfile.TemporaryDirectory(prefix="budgetwatch-hostile-") as tmp:
        folder = Path(tmp)
        print(f"{'kind':40} {'size':>9} {'seconds':>8} {'peak MB':>8}  verdict")
        worst_peak, worst_time = 0, 0.0
        for probe in chosen:
            path = folder / probe.name
            path.write_bytes(probe.make())
            run = run_measured(["check", str(path), "--format", "json"], {}, folder)
            report = json.loads(run.out) if run.out.strip().startswith("{") else {}
            verdict = (
                "read" if report.get("documents") else "; ".join(u["reason"] for u in report.get("unreadable", []))
            )
            print(f"{probe.name:40} {path.stat().st_size:>9,} {run.seconds:>8.1f} {run.peak_bytes / 2**20:>8.0f}  "
                  f"{(verdict or f'exit {run.status}')[:70]}", flush=True)  # fmt: skip
            worst_peak, worst_time = max(worst_peak, run.peak_bytes), max(worst_time, run.seconds)
            path.unlink()
        print(f"\n{len(chosen)} kinds; largest peak {worst_peak / 2**20:.0f} MB, longest run {worst_time:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
