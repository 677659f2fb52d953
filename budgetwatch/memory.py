"""Allocator settings for a process that validates batch after batch.

Every batch allocates and frees arrays of the same large sizes. By default both allocators give freed memory back to
the system at once (polars' jemalloc after 0.5 s; glibc, which numpy uses, every block over 128 KiB), so the next
batch faults the same pages in again: a fifth of validation time went to the kernel. Here freed memory is kept for
reuse instead (`docs/benchmarks.md` has the figures). Set BUDGETWATCH_KEEP_FREED_MEMORY=0 to leave the defaults.

This module imports nothing heavy: `budgetwatch/__init__.py` applies it before polars is first imported, which is
when polars' allocator reads its settings.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

# keep freed pages 10 s (polars' own default is 0.5 s), longer than a batch takes
JEMALLOC_CONF = "dirty_decay_ms:10000,muzzy_decay_ms:10000"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest: blocks up to this come from the heap and are reused
TRIM_THRESHOLD = 1024 * 1024 * 1024  # free heap kept before any is given back


def wanted() -> bool:
    return os.environ.get("BUDGETWATCH_KEEP_FREED_MEMORY", "1") not in {"0", "false", "no"}


def keep_freed_memory() -> dict[str, bool]:
    """Apply the settings this process can still take; returns which took effect."""
    if not wanted():
        return {"polars": False, "glibc": False}
    polars = "polars" not in sys.modules
    if polars:  # polars appends this to its own settings, and the later value wins; one's own settings are kept
        current = [o for o in os.environ.get("_RJEM_MALLOC_CONF", "").split(",") if o]
        named = {o.split(":", 1)[0] for o in current}
        ours = [o for o in JEMALLOC_CONF.split(",") if o.split(":", 1)[0] not in named]
        os.environ["_RJEM_MALLOC_CONF"] = ",".join(current + ours)
    return {"polars": polars, "glibc": _glibc()}


def give_back_freed_memory() -> bool:
    """glibc's defaults again (freed blocks over 128 KiB returned at once), for a process whose resident size is
    watched, such as the one that reads a document under a memory limit."""
    return _mallopt(128 * 1024, 128 * 1024)


def _glibc() -> bool:
    return _mallopt(MMAP_THRESHOLD, TRIM_THRESHOLD)


def _mallopt(mmap_threshold: int, trim_threshold: int) -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, glibc's among them (ctypes.util costs 30 ms to import)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
        )
    except (OSError, AttributeError):
        return False
