"""Report: the steward's report of a check run.

Takes a check run (extractions, findings, skipped rules) and an optional earlier run, and gives static HTML pages (an
index and one page a document, with inline SVG charts) and CSV / XLSX exports of the findings and tables.
"""

from budgetwatch.report.site import write_report

__all__ = ["write_report"]
