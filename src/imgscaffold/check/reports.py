"""The reports of `imgscaffold check`: text, JSON, SARIF, Markdown and a standalone HTML page."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

from imgscaffold import __version__
from imgscaffold.check.rule import GUIDE_URL, Finding, Severity
from imgscaffold.check.rules import catalogue
from imgscaffold.check.runner import Report

__all__ = ["FORMATS", "Format", "RuleSummary", "formats_help", "render", "rule_summary"]


@dataclass
class RuleSummary:
    """How one rule fared across every checked target."""

    rule: str
    title: str
    severity: str
    url: str
    failing: int = 0
    passing: int = 0
    skipped: int = 0
    findings: int = 0
    ignored: int = 0


def rule_summary(reports: Sequence[Report]) -> list[RuleSummary]:
    """One row per rule that ran anywhere or found anything, in ID order within rows."""
    known = {info.id: info for info in catalogue()}
    rows: dict[str, RuleSummary] = {}

    def row(rule: str, finding: Finding | None = None) -> RuleSummary:
        if rule not in rows:
            info = known.get(rule)
            rows[rule] = RuleSummary(
                rule=rule,
                title=info.title if info else (finding.title if finding else rule),
                severity=info.severity if info else str(finding.severity if finding else ""),
                url=info.url if info else (finding.url if finding else ""),
            )
        return rows[rule]

    for report in reports:
        for rule in report.ran:
            row(rule)
        for rule in report.skipped:
            row(rule).skipped += 1
        failing: set[str] = set()
        for finding in report.findings:
            entry = row(finding.rule, finding)
            if finding.ignored is None:
                entry.findings += 1
                failing.add(finding.rule)
            else:
                entry.ignored += 1
        for rule in failing:
            rows[rule].failing += 1
        for rule in report.ran:
            if rule not in failing:
                rows[rule].passing += 1
    order = {info.id: n for n, info in enumerate(catalogue())}
    return sorted(rows.values(), key=lambda r: (order.get(r.rule, len(order)), r.rule))


def _counts(report: Report) -> dict[str, int]:
    counts = {str(s): 0 for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)}
    for finding in report.active:
        counts[str(finding.severity)] += 1
    counts["ignored"] = len(report.findings) - len(report.active)
    return counts


def _text(reports: Sequence[Report], fail_on: Severity) -> str:
    lines: list[str] = []
    for report in reports:
        lines.append(f"== {report.target}")
        for f in report.findings:
            where = f"{f.location}: " if f.location else ""
            tail = f" (ignored: {f.ignored})" if f.ignored else ""
            lines.append(f"{where}{f.rule} [{f.severity}] {f.message}{tail}")
            if f.fix and not f.ignored:
                lines.append(f"    fix: {f.fix}")
                lines.append(f"    see: {f.url}")
        counts = _counts(report)
        verdict = "FAIL" if report.failed(fail_on) else "ok"
        lines.append(
            f"{verdict}: "
            f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info, "
            f"{counts['ignored']} ignored; "
            f"{len(report.ran)} rules ran, {len(report.skipped)} skipped; hadolint: "
            f"{report.hadolint}"
        )
        lines.append("")
    if len(reports) > 1:
        failed = sum(r.failed(fail_on) for r in reports)
        lines.append(f"{failed} of {len(reports)} checked target(s) fail at --fail-on {fail_on}")
    return "\n".join(lines).rstrip() + "\n"


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": str(f.severity),
        "message": f.message,
        "path": f.path,
        "line": f.line,
        "source": f.source,
        "title": f.title,
        "fix": f.fix,
        "url": f.url,
        "ignored": f.ignored,
    }


def _json(reports: Sequence[Report], fail_on: Severity) -> str:
    data = {
        "tool": "imgscaffold",
        "version": __version__,
        "fail_on": str(fail_on),
        "failed": any(r.failed(fail_on) for r in reports),
        "targets": [
            {
                "name": r.name,
                "target": r.target,
                "failed": r.failed(fail_on),
                "counts": _counts(r),
                "hadolint": r.hadolint,
                "ran": r.ran,
                "skipped": r.skipped,
                "findings": [_finding_json(f) for f in r.findings],
            }
            for r in reports
        ],
        "rules": [vars(row) for row in rule_summary(reports)],
    }
    return json.dumps(data, indent=2) + "\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _sarif(reports: Sequence[Report]) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for report in reports:
        prefix = "" if len(reports) == 1 else f"{report.name}/"
        for f in report.findings:
            if f.rule not in rules:
                rules[f.rule] = {
                    "id": f.rule,
                    "name": f.rule,
                    "shortDescription": {"text": f.title or f.rule},
                    "helpUri": f.url,
                    "help": {"text": f.fix or f.title},
                    "defaultConfiguration": {"level": _SARIF_LEVEL[f.severity]},
                    "properties": {"source": f.source},
                }
            result: dict[str, Any] = {
                "ruleId": f.rule,
                "ruleIndex": list(rules).index(f.rule),
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f.message},
            }
            if f.path:
                location: dict[str, Any] = {
                    "artifactLocation": {"uri": prefix + f.path, "uriBaseId": "SRCROOT"}
                }
                if f.line:
                    location["region"] = {"startLine": f.line}
                result["locations"] = [{"physicalLocation": location}]
            if f.ignored:
                result["suppressions"] = [{"kind": "external", "justification": f.ignored}]
            results.append(result)
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "imgscaffold",
                        "version": __version__,
                        "informationUri": GUIDE_URL.format(slug="").rstrip("/").rsplit("/", 1)[0]
                        + "/",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(reports: Sequence[Report], fail_on: Severity) -> str:
    out = ["# imgscaffold check", ""]
    if len(reports) > 1:
        out += [
            "## Rules",
            "",
            "| Rule | Title | Severity | Failing | Passing | Skipped | Findings |",
        ]
        out.append("|---|---|---|---:|---:|---:|---:|")
        for row in rule_summary(reports):
            out.append(
                f"| [{row.rule}]({row.url}) | {_md(row.title)} | {row.severity} | {row.failing} "
                f"| {row.passing} | {row.skipped} | {row.findings} |"
            )
        out.append("")
    for report in reports:
        counts = _counts(report)
        verdict = "fails" if report.failed(fail_on) else "passes"
        out += [
            f"## {_md(report.target)}",
            "",
            f"{verdict} at `--fail-on {fail_on}`: "
            f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info, "
            f"{counts['ignored']} ignored.",
            "",
        ]
        if report.findings:
            out += ["| Rule | Severity | Where | Message | Fix |", "|---|---|---|---|---|"]
            for f in report.findings:
                message = _md(f.message) + (f" *(ignored: {_md(f.ignored)})*" if f.ignored else "")
                rule = f"[{f.rule}]({f.url})" if f.url else f.rule
                out.append(
                    f"| {rule} | {f.severity} | `{_md(f.location)}` | {message} | {_md(f.fix)} |"
                )
            out.append("")
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.n{text-align:right}.error{color:#b00020}.warning{color:#a05a00}.info{color:#555}
tr.ignored{opacity:.55}input,select{font:inherit;margin-right:1em}
code{font:.92em ui-monospace,monospace;background:#f3f3f3;padding:0 .2em;border-radius:3px}
"""

# Nothing may load from elsewhere: only the inline style and script run.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_JS = """
function cellValue(row,i){var t=row.cells[i].getAttribute('data-v')||row.cells[i].textContent;
var n=parseFloat(t);return isNaN(n)||!/^-?[0-9.]+$/.test(t)?t.toLowerCase():n;}
document.querySelectorAll('table.sortable').forEach(function(table){
 table.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
  var asc=th.getAttribute('aria-sort')!=='ascending';
  table.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=cellValue(a,i),y=cellValue(b,i);
   return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});});});});
function applyFilter(){var text=document.getElementById('filter').value.toLowerCase();
 var sev=document.getElementById('severity').value;var shown=0;
 document.querySelectorAll('#findings tbody tr').forEach(function(r){
  var ok=r.textContent.toLowerCase().indexOf(text)>=0
   &&(!sev||r.getAttribute('data-severity')===sev);
  r.hidden=!ok;if(ok){shown++;}});
 document.getElementById('shown').textContent=shown;}
document.getElementById('filter').addEventListener('input',applyFilter);
document.getElementById('severity').addEventListener('change',applyFilter);
applyFilter();
"""


# Messages, fixes and titles are written with Markdown's inline marks (code spans, emphasis,
# links). With HTML off, markdown-it escapes everything else, so no tag in a message reaches
# the page; images and autolinks are off too, so nothing loads and `<image:version>` stays text.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable(["image", "autolink"])


def _inline_markdown(text: str) -> str:
    """One line of Markdown as safe HTML."""
    return str(_MARKDOWN.renderInline(text))


def _html(reports: Sequence[Report], fail_on: Severity) -> str:
    e = html.escape
    md = _inline_markdown

    def rule_link(rule: str, url: str) -> str:
        return f'<a href="{e(url)}">{e(rule)}</a>' if url else e(rule)

    summary_rows = "".join(
        f"<tr><td>{rule_link(r.rule, r.url)}</td><td>{md(r.title)}</td>"
        f'<td class="{e(r.severity)}">{e(r.severity)}</td><td class="n">{r.failing}</td>'
        f'<td class="n">{r.passing}</td><td class="n">{r.skipped}</td>'
        f'<td class="n">{r.findings}</td><td class="n">{r.ignored}</td></tr>'
        for r in sorted(rule_summary(reports), key=lambda row: row.rule)
    )
    repo_rows = ""
    for report in reports:
        c = _counts(report)
        verdict = "fails" if report.failed(fail_on) else "passes"
        repo_rows += (
            f'<tr><td>{e(report.target)}</td><td>{verdict}</td><td class="n">{c["error"]}</td>'
            f'<td class="n">{c["warning"]}</td><td class="n">{c["info"]}</td>'
            f'<td class="n">{c["ignored"]}</td><td>{e(report.hadolint)}</td></tr>'
        )
    finding_rows = ""
    total = 0
    for report in reports:
        for f in report.findings:
            total += 1
            ignored = f" (ignored: {e(f.ignored)})" if f.ignored else ""
            css = ' class="ignored"' if f.ignored else ""
            finding_rows += (
                f'<tr{css} data-severity="{f.severity}"><td>{e(report.name)}</td>'
                f"<td>{rule_link(f.rule, f.url)}</td>"
                f'<td class="{f.severity}" data-v="{int(f.severity)}">{f.severity}</td>'
                f"<td>{e(f.location)}</td><td>{md(f.message)}{ignored}</td><td>{md(f.fix)}</td></tr>"
            )
    failed = sum(r.failed(fail_on) for r in reports)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imgscaffold check: {len(reports)} target(s)</title>
<style>{_CSS}</style>
</head>
<body>
<h1>imgscaffold check</h1>
<p id="verdict">{failed} of {len(reports)} target(s) fail at severity {fail_on} or above.
imgscaffold {e(__version__)}.</p>
<h2>Repositories</h2>
<table class="sortable" id="targets"><thead><tr><th>Target</th><th>Verdict</th><th>Errors</th>
<th>Warnings</th><th>Info</th><th>Ignored</th><th>hadolint</th></tr></thead>
<tbody>{repo_rows}</tbody></table>
<h2>Findings</h2>
<p><label>Filter <input id="filter" type="search" placeholder="rule, repository, text"></label>
<label>Severity <select id="severity"><option value="">any</option><option>error</option>
<option>warning</option><option>info</option></select></label>
<span id="shown">{total}</span> of {total} shown</p>
<table class="sortable" id="findings"><thead><tr><th>Repository</th><th>Rule</th><th>Severity</th>
<th>Where</th><th>Message</th><th>Fix</th></tr></thead>
<tbody>{finding_rows}</tbody></table>
<h2>Rules</h2>
<table class="sortable" id="rules"><thead><tr><th>Rule</th><th>Title</th><th>Severity</th>
<th>Failing</th><th>Passing</th><th>Skipped</th><th>Findings</th><th>Ignored</th></tr></thead>
<tbody>{summary_rows}</tbody></table>
<script>{_JS}</script>
</body>
</html>
"""


@dataclass(frozen=True)
class Format:
    """One report format: what renders it, and what it is for when that needs saying."""

    render: Callable[[Sequence[Report], Severity], str]
    note: str = ""


#: Every report format by name, in the order `--format` lists them: the one list of them.
FORMATS: dict[str, Format] = {
    "text": Format(_text),
    "json": Format(_json),
    "sarif": Format(lambda reports, fail_on: _sarif(reports), "code scanning"),
    "markdown": Format(_markdown),
    "html": Format(_html, "fleet page"),
}


def formats_help() -> str:
    """The formats for `--format`'s help: "text, json, sarif (code scanning), ... or html"."""
    names = [f"{name} ({f.note})" if f.note else name for name, f in FORMATS.items()]
    return f"{', '.join(names[:-1])} or {names[-1]}."


def render(reports: Sequence[Report], output_format: str, *, fail_on: Severity) -> str:
    """The reports in one of FORMATS."""
    found = FORMATS.get(output_format)
    if found is None:
        raise ValueError(f"unknown format {output_format!r}")
    return found.render(reports, fail_on)
