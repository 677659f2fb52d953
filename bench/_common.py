"""Shared helpers for the benchmarks: the bundled samples' line items, and peak memory."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from budgetwatch.check.validate import frames
from budgetwatch.cli.main import bundled_samples
from budgetwatch.read.extract import extract_path


def sample_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    return frames([extract_path(p) for p in bundled_samples()])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
