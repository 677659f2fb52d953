"""Run a measure against this checkout's engine or another checkout's, in a child process, and get its JSON back.

The benchmarks compare the engine with an earlier one on the same documents: `--against DIR` names a checkout (a
`git worktree add DIR COMMIT`); its package is imported in a child process so that two versions never share one
interpreter. The child runs `python bench/_engine.py WHAT OUT PATHS…` with DIR first on its path and writes one JSON
document to OUT; WHAT is `read` (tables and cells) or `check` (findings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()


def _extract_path():
    try:
        from budgetwatch.read.extract import extract_path  # noqa: PLC0415
    except ImportError:  # an engine from before the package was grouped by stage
        from budgetwatch.extract import extract_path  # noqa: PLC0415
    return extract_path


def _validate_extractions():
    try:
        from budgetwatch.check.batch import validate_extractions  # noqa: PLC0415
    except ImportError:
        from budgetwatch.checking import validate_extractions  # noqa: PLC0415
    return validate_extractions


def _first_page(table) -> int | None:
    pages = getattr(table, "pages", None) or []
    return min(pages) if pages else None


def read(paths: list[str]) -> dict:
    """Each document's tables (id, status, first page) and cells (table, side, code, row key, label, column, raw)."""
    extract_path = _extract_path()
    out = {}
    for path in paths:
        try:
            ex = extract_path(path)
        except Exception as exc:  # noqa: BLE001 - an engine that cannot read a document scores nothing on it
            out[path] = {"error": f"{type(exc).__name__}: {exc}"[:200], "tables": [], "cells": []}
            continue
        tables = [[t.table_id, str(t.status), _first_page(t)] for t in ex.tables]
        cells = [
            [i.table_id, i.side or "", i.code or "", i.row_key or "", i.label_norm or "", i.column_key, i.raw or ""]
            for i in ex.items
            if not i.blank
        ]
        out[path] = {"tables": tables, "cells": cells, "family": getattr(ex.document, "family", None)}
    return out


def check(paths: list[str]) -> dict:
    """Each document's findings: check, severity, message, actual value."""
    extract_path, validate = _extract_path(), _validate_extractions()
    extractions = [extract_path(p) for p in paths]
    return {
        path: [[f.check_id, str(f.severity), f.message, str(f.actual or "")] for f in report.findings]
        for path, report in zip(paths, validate(extractions), strict=True)
    }


def run(what: str, paths: list[str], engine: Path | None = None) -> dict:
    """`what` measured by the engine of checkout `engine` (this one when None), in a child process."""
    root = engine or HERE.parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        command = [sys.executable, str(HERE), what, str(out), *paths]
        done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the engine at {root} failed on {what}: {done.stderr[-2000:]}")
        return json.loads(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    measure = {"read": read, "check": check}[sys.argv[1]]
    Path(sys.argv[2]).write_text(json.dumps(measure(sys.argv[3:]), ensure_ascii=False), encoding="utf-8")
