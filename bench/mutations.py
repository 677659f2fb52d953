"""Mutation benchmark: change one printed amount at a time and see whether the identities catch it.

Baseline: the bundled samples' tables (hongshan 表1–表10, exactly consistent, and huangpi 公开01–06, whose known
rounding differences are part of the baseline and subtracted). Each mutation adds a random difference from 0.01 to
10,000 (log-uniform, random sign) to one random printed cell that takes part in an identity. A mutation of 0.02 or more
is caught when a new error-level finding names its table, row and column; 0.01 may only be a rounding warning.

    uv run python bench/mutations.py [N] [SEED]
"""

from __future__ import annotations

import math
import random
import sys
import time

import polars as pl
from _common import peak_rss_mb, sample_frames

from budgetwatch.check.validate import identity_findings

TABLES = [f"budget.{n:02d}" for n in range(1, 11)] + [f"final.{n:02d}" for n in range(1, 7)]


def _keys(findings, severity="error"):
    return {
        (f.check_id, loc.table_id, loc.row_label, loc.column)
        for f in findings
        if str(f.severity) == severity
        for loc in f.locations
    }


def main(n: int, seed: int) -> None:
    items, tables = sample_frames()
    items = items.filter(pl.col("table_id").is_in(TABLES))
    tables = tables.filter(pl.col("table_id").is_in(TABLES))
    baseline = identity_findings(items, tables)
    base_keys = {sha: _keys(fs) for sha, fs in baseline.items()}
    base_findings = sum(len(v) for v in baseline.values())
    rng = random.Random(seed)
    # targets: printed cells of columns the source kept apart (where it merged two columns, neither takes part in a sum)
    merged = (
        items.filter(pl.col("column_key").str.contains("|", literal=True))
        .select("sha256", "table_id", pl.col("column_key").str.split("|"))
        .explode("column_key")
        .unique()
    )
    printed = (
        items.with_row_index("_i")
        .filter(~pl.col("blank") & ~pl.col("column_key").str.contains("|", literal=True))
        .join(merged, on=["sha256", "table_id", "column_key"], how="anti")
    )
    caught = missed = small = small_flagged = 0
    misses: list[str] = []
    t0 = time.perf_counter()
    for _ in range(n):
        target = printed.row(rng.randrange(printed.height), named=True)
        magnitude = 10 ** rng.uniform(math.log10(0.01), math.log10(10_000))
        delta = max(10_000, round(magnitude * 100) * 10_000) * rng.choice([1, -1])
        mutated = (
            items.with_row_index("_i")
            .with_columns(
                pl.when(pl.col("_i") == target["_i"]).then(pl.col("micros") + delta).otherwise(pl.col("micros"))
            )
            .drop("_i")
        )
        found = identity_findings(mutated, tables).get(target["sha256"], [])
        new_errors = _keys(found) - base_keys.get(target["sha256"], set())
        hit = any(
            t == target["table_id"] and r == target["label"] and c == target["column_key"] for _, t, r, c in new_errors
        )
        if abs(delta) < 20_000:
            small += 1
            small_flagged += bool(_keys(found, "warning") - _keys(baseline.get(target["sha256"], []), "warning") or hit)
            continue
        if hit:
            caught += 1
        else:
            missed += 1
            misses.append(f"{target['table_id']} {target['label']} {target['column_key']} {delta / 1e6:+.2f}")
    elapsed = time.perf_counter() - t0
    total = caught + missed
    print(f"mutations                      {n}")
    print(f"  of 0.02 or more              {total}")
    print(f"  caught as located errors     {caught}  recall {caught / total:.2%}" if total else "  (none)")
    print(f"  of 0.01 (rounding-sized)     {small}, flagged {small_flagged}")
    base_errors = sum(1 for fs in baseline.values() for f in fs if str(f.severity) == "error")
    print(f"baseline findings              {base_findings} (errors {base_errors}; the samples' known rounding defects)")
    print(f"seconds                        {elapsed:.1f} ({elapsed / n * 1000:.0f} ms a mutation)")
    print(f"peak memory                    {peak_rss_mb():.0f} MB")
    for line in misses[:20]:
        print(f"  missed: {line}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 600, int(sys.argv[2]) if len(sys.argv) > 2 else 1)
