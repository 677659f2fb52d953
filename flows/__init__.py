"""Prefect flows: they only compose tasks."""

import atexit
import gc
import typing


@atexit.register
def _release_before_teardown() -> None:
    """Free what a finished run leaves referenced (typing caches, cycles) while the interpreter still runs, so that
    DuckDB's bindings find none of their objects alive at teardown and print no leak report."""
    for clear in getattr(typing, "_cleanups", ()):
        clear()
    gc.collect()
