"""Allocator settings: freed memory kept for the next batch, applied before polars loads, and can be turned off."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from budgetwatch.memory import JEMALLOC_CONF, keep_freed_memory

_PRINT_CONF = "import budgetwatch, os, polars; print(os.environ.get('_RJEM_MALLOC_CONF', ''))"


def _conf(**env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in {"_RJEM_MALLOC_CONF", "BUDGETWATCH_KEEP_FREED_MEMORY"}}
    done = subprocess.run(
        [sys.executable, "-c", _PRINT_CONF], env={**environ, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_importing_budgetwatch_first_sets_polars_allocator_to_keep_freed_memory():
    conf = _conf()
    assert conf.endswith(JEMALLOC_CONF)  # after polars' own defaults: the later value wins
    assert conf.startswith("dirty_decay_ms:500")  # polars read and extended it when it loaded


def test_the_setting_can_be_turned_off():
    assert JEMALLOC_CONF not in _conf(BUDGETWATCH_KEEP_FREED_MEMORY="0")


def test_ones_own_allocator_settings_are_kept():
    assert _conf(_RJEM_MALLOC_CONF="narenas:2").endswith(f"narenas:2,{JEMALLOC_CONF}")
    assert _conf(_RJEM_MALLOC_CONF="dirty_decay_ms:0").endswith("dirty_decay_ms:0,muzzy_decay_ms:10000")


def test_once_polars_is_loaded_only_the_glibc_setting_can_still_take_effect():
    applied = keep_freed_memory()  # polars is loaded in the test process
    assert applied["polars"] is False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert applied["glibc"] is True
