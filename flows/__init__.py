"""Prefect flows: they only compose tasks.

A run that fails on purpose (a new crawl problem, a broken stage) ends in a Failed state whose message says what broke;
Prefect's engine then reports the same failure a second time, with a traceback of its own machinery. That second
report is dropped here; a run that crashes keeps its traceback.
"""

import logging

from prefect.exceptions import FailedRun


class _SaidInWords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        raised = record.exc_info[1] if record.exc_info else None
        return not (isinstance(raised, FailedRun) and record.getMessage().startswith("Engine execution exited"))


logging.getLogger("prefect.flow_runs").addFilter(_SaidInWords())
