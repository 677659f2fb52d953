"""The steward's report of a check run: static HTML pages, inline SVG charts, and CSV / XLSX exports."""

from budgetwatch.report.site import write_report

__all__ = ["write_report"]
