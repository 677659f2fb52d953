"""What a run leaves behind: its own folder (report, findings), its artifacts in the UI, its messages to stewards.

Each run writes into ``<out>/runs/<Beijing time>-<flow run name>/``, so a link to an earlier run keeps showing what
that run showed. Links go over HTTP where ``budgetwatch serve`` serves the output folder; a file it does not serve
gets no link rather than a path on the server.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.utilities.urls import url_for

from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import CheckRun, DocumentReport
from budgetwatch.errors import DocumentError
from budgetwatch.publish.alerts import RunLinks, failures
from budgetwatch.publish.dataset import Publication
from budgetwatch.publish.ledger import Entry, Problem, Version, local_now
from budgetwatch.publish.links import Site
from budgetwatch.publish.outputs import write_findings
from budgetwatch.report import write_report
from budgetwatch.report.lifecycle import document_name, problems_markdown, rows, tally
from budgetwatch.report.site import page_name
from budgetwatch.service.orchestration import site_settings
from tasks.publishing import compose_alerts, record_alert, send_alert


@dataclass(frozen=True, slots=True)
class Run:
    """One run: its id in the ledgers, its flow run, its folder and where that folder is served."""

    id: str
    name: str
    folder: Path
    run_url: str | None
    site: Site | None

    @classmethod
    def start(cls, out: str) -> Run:
        name = flow_run.get_name() or "local"
        runs = Path(out) / "runs"
        stem = f"{local_now().strftime('%Y%m%d-%H%M%S')}-{name}"
        folder, n = runs / stem, 1
        while folder.exists():  # two runs of one name in one second still get folders of their own
            n += 1
            folder = runs / f"{stem}-{n}"
        folder.mkdir(parents=True)
        run_id = flow_run.get_id()
        run_url = url_for("flow-run", obj_id=run_id, url_type="ui") if run_id else None
        return cls(folder.name, name, folder, run_url, Site.of(site_settings()))

    def link(self, path: str | Path | None) -> str | None:
        return self.site.link(path) if self.site and path else None

    def page(self, report: DocumentReport) -> Path:
        return self.folder / page_name(report)


def versions_of(checked: list[tuple[DocumentRef, DocumentReport]], run: Run, registry: list) -> list[Version]:
    """The checked documents as the ledger files them, each with its page in this run's report."""
    names = {s.id: s.name for s in registry}
    out = []
    for ref, report in checked:
        d = report.extraction.document
        out.append(Version(
            url=ref.identity, sha256=d.sha256, findings=tuple(report.findings), source_id=ref.source_id,
            district=names.get(ref.source_id or "") or d.district, steward=ref.steward,
            document=document_name(ref.department, ref.fiscal_year, ref.kind), department=ref.department,
            fiscal_year=ref.fiscal_year, kind=ref.kind, page=str(run.page(report)),
        ))  # fmt: skip
    return out


def write_run(run: Run, result: CheckRun, checked: list, entries: list[Entry], broken: list[str]) -> dict[str, Path]:
    """The run's report (index.html, a page a document, exports) and findings (check.json, findings.csv)."""
    written = {"check": write_findings(result, run.folder), "csv": run.folder / "findings.csv"}
    urls = {r.extraction.document.source: ref.url for ref, r in checked if (ref.url or "").startswith("http")}

    def page_of(entry: Entry) -> str | None:
        return os.path.relpath(entry.page, run.folder) if entry.page else None

    try:
        written["report"] = write_report(
            result,
            run.folder,
            sources=urls,
            copy_sources=False,
            ledger=entries,
            page_of=page_of,
            title=f"预决算检查报告 budgetwatch run {run.name}",
        )
    except Exception as exc:  # noqa: BLE001 - the findings are written; the run fails at the end
        broken.append(f"writing the HTML report: {type(exc).__name__}: {exc}")
    return written


def alert(
    run: Run, entries: list[Entry], problems: list[Problem], *, dataset: str, channels: list[str], dry_run: bool,
    broken: list[str],
) -> list[dict]:  # fmt: skip
    """Send each pending message; one that is not delivered stays pending (the next run tells it)."""
    found = failures(entries, lambda x: run.link(x.page))
    if not channels or not (found or problems):
        return []
    links = RunLinks(run.name, run.run_url, run.link(run.folder / "index.html"))
    try:
        messages = compose_alerts(dataset, channels, found, problems, links)
    except Exception as exc:  # noqa: BLE001 - reported at the end of the run, after the other stages
        broken.append(f"composing alerts: {type(exc).__name__}: {exc}")
        return []
    sent = []
    for message in messages:
        entry = {
            "channel": message.channel,
            "recipient": message.recipient or "(default recipients)",
            "errors": len(message.failures),
            "crawl_problems": len(message.problems),
            "delivered": False,
        }
        if not dry_run:
            try:
                send_alert(message)
                record_alert(dataset, message)
                entry["delivered"] = True
            except Exception as exc:  # noqa: BLE001 - the run fails at the end; the ledger keeps the message pending
                broken.append(f"alert by {message.channel} to {entry['recipient']} not delivered: {exc}")
        sent.append(entry)
    return sent


def _counts(entries: list[Entry], severity: str) -> dict[str, int]:
    c = tally(entries, severity)
    return {"new": c["new"], "still_open": c["open"], "open": c["new"] + c["open"], "fixed": c["fixed"],
            "withdrawn": c["withdrawn"]}  # fmt: skip


def _markdown(run: Run, summary: dict, problems: list[Problem], unreadable: list[DocumentError], report: str | None):
    e, w = summary["errors"], summary["warnings"]
    dry = " (dry run: nothing published, nothing filed, nobody alerted)" if summary["dry_run"] else ""
    lines = [
        f"# budgetwatch run {run.name}{dry}",
        "",
        f"**Errors: {e['open']} open** — {e['new']} new, {e['still_open']} still open from earlier runs; "
        f"{e['fixed']} fixed, {e['withdrawn']} withdrawn in this run. "
        f"Warnings: {w['open']} open ({w['new']} new), {w['fixed']} fixed.",
        "",
        f"Report: {report}" if report else "Report: not served (start `budgetwatch serve` to open reports over HTTP); "
        f"written to the folder `runs/{run.folder.name}` of the run's output folder.",
        "",
        "| documents checked | new | changed | unchanged | published | quarantined | unreadable |",
        "|---|---|---|---|---|---|---|",
        f"| {summary['documents']} | {summary['new']} | {summary['changed']} | {summary['unchanged']} "
        f"| {summary['published']} | {summary['quarantined']} | {len(unreadable)} |",
        "",
        "## Open errors by check",
        "",
        *([f"- `{check}`: {n}" for check, n in summary["errors_by_check"].items()] or ["none"]),
    ]  # fmt: skip
    if problems:
        lines += ["", "## Crawl problems", "", *problems_markdown(problems)]
    lines += ["", "## Alerts", ""]
    lines += [
        f"- {a['channel']} to {a['recipient']}: {a['errors']} errors, {a['crawl_problems']} crawl problems, "
        f"{'delivered' if a['delivered'] else 'not sent'}"
        for a in summary["alerts"]
    ] or ["none to send"]
    if unreadable:
        lines += ["", "## Unreadable", "", *[f"- {x.source}: {x.reason}" for x in unreadable]]
    return "\n".join(lines)


def artifacts(
    run: Run, checked: list, publications: list[Publication], entries: list[Entry], problems: list[Problem], *,
    unreadable: list[DocumentError], written: dict[str, Path], sent: list[dict], dry_run: bool,
) -> dict:  # fmt: skip
    """The run's findings table, its summary and links to its report and findings; the summary as a dict."""
    table = rows(entries, lambda x: run.link(x.page))
    create_table_artifact(key="findings", table=table or [{"findings": "none open"}],
                          description="findings: new, still open, fixed, withdrawn")  # fmt: skip
    novelty = Counter(p.novelty for p in publications)
    actions = Counter(p.action for p in publications)
    open_errors = Counter(x.check_id for x in entries if x.severity == "error" and x.state in ("new", "open"))
    report = run.link(written.get("report"))
    summary = {
        "run": run.name, "folder": run.folder.name, "documents": len(checked),
        "unreadable": [x.source for x in unreadable], "new": novelty["new"], "changed": novelty["changed"],
        "unchanged": novelty["unchanged"], "published": actions["published"], "quarantined": actions["quarantined"],
        "published_rows": sum(p.rows for p in publications), "errors": _counts(entries, "error"),
        "warnings": _counts(entries, "warning"), "errors_by_check": dict(sorted(open_errors.items())),
        "crawl_problems": {s: sum(p.state == s for p in problems) for s in ("new", "open", "fixed")},
        "alerts": sent, "dry_run": dry_run, "report": report,
    }  # fmt: skip
    markdown = _markdown(run, summary, problems, unreadable, report)
    create_markdown_artifact(key="run-summary", markdown=markdown, description="budgetwatch run summary")
    links = {"steward-report": (report, "report of this run (HTML)"),
             "findings-csv": (run.link(written["csv"]), "findings of this run (CSV for Excel / WPS)"),
             "check-report": (run.link(written["check"]), "findings of this run (JSON)")}  # fmt: skip
    for key, (url, text) in links.items():
        if url:
            create_link_artifact(key=key, link=url, link_text=text)
    return summary
