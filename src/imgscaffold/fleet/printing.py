"""What update and status print for people: progress, and each command's report."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from imgscaffold.fleet.status import RepositoryStatus, StatusReport
from imgscaffold.fleet.update import UpdateReport, UpdateResult
from imgscaffold.generated import FileChange
from imgscaffold.report import shown_path, unwrapped_console

R = TypeVar("R")
_LISTED = 10
_CHANGE_MARK = {"added": "A", "modified": "M", "deleted": "D"}


@contextmanager
def progress(
    total: int, label: str, describe: Callable[[R], str], *, mode: bool | None
) -> Iterator[Callable[[R], None]]:
    """Show how a fleet run advances on stderr; yields the callback for each finished result.

    MODE None shows a live bar on a terminal and nothing otherwise; True prints a line per
    repository even without a terminal (CI logs); False shows nothing.
    """
    console = unwrapped_console(stderr=True)
    if mode is False or (mode is None and (total < 2 or not console.is_terminal)):
        yield lambda _result: None
        return
    if not console.is_terminal:
        yield lambda result: console.print(describe(result), markup=False)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(result: R) -> None:
            bar.console.print(describe(result), markup=False)
            bar.advance(task)

        yield advance


def describe_update(result: UpdateResult) -> str:
    """One line for one repository's update, as the progress display shows it."""
    return f"{result.path}: {_update_summary(result)}"


def _update_summary(result: UpdateResult) -> str:
    versions = f"{result.from_version or '?'} -> {result.to_version or '?'}"
    if result.outcome == "updated":
        where = f", committed on {result.branch}" if result.branch else ""
        return f"updated {versions} ({_count(len(result.changed), 'file')} changed{where})"
    if result.outcome == "current":
        return f"already on {result.to_version}"
    if result.outcome == "conflict":
        return f"conflicts {versions} ({_count(len(result.conflicts), 'file')}), not committed"
    return f"failed: {result.message}"


def print_update_report(report: UpdateReport) -> None:
    """What the update did: a paragraph for one repository, a table and details for many."""
    if len(report.results) == 1:
        _print_one_update(report.results[0])
    else:
        _print_update_table(report)
    if report.interrupted:
        unwrapped_console(stderr=True).print(
            "imgscaffold: interrupted; repositories not listed were left as they were",
            markup=False,
        )


def _print_one_update(result: UpdateResult) -> None:
    out, err = unwrapped_console(), unwrapped_console(stderr=True)
    if result.outcome == "failed":
        err.print(f"imgscaffold: error: {result.message}", markup=False)
        _print_recovery(err, result.recovery, "To put the repository back as it was:")
        return
    if result.outcome == "current":
        out.print(f"{result.path}: already on template {result.to_version}", markup=False)
        return
    head = f"{result.path}: template {result.from_version} -> {result.to_version}"
    if result.outcome == "conflict":
        out.print(f"{head}: {_count(len(result.conflicts), 'conflict')}", markup=False)
        for conflict in result.conflicts:
            out.print(f"  C {conflict.path}: {conflict.reason}", markup=False)
        _print_changes(out, result.changed, exclude={c.path for c in result.conflicts})
        hint = "Resolve them as each line says, then commit"
        if any(c.markers for c in result.conflicts):
            hint += " (markers: <<<<<<< before updating ... >>>>>>> after updating)"
        out.print(hint + ".", markup=False)
        _print_recovery(out, result.recovery, "Or discard the update:")
        err.print(
            f"imgscaffold: error: {result.path}: conflicts in the update to "
            f"{result.to_version}; nothing was committed",
            markup=False,
        )
        return
    out.print(f"{head}: {_count(len(result.changed), 'file')} changed", markup=False)
    _print_changes(out, result.changed)
    where = _quoted(result.path)
    if result.branch:
        commit = (result.commit or "")[:12]
        out.print(
            f"Committed on branch {result.branch} ({commit}); push it for review:", markup=False
        )
        out.print(f"  git -C {where} push -u origin {result.branch}", markup=False)
    else:
        out.print(
            f"Review with `git -C {where} status` and `git -C {where} diff`, then commit.",
            markup=False,
        )


def _print_changes(
    console: Console, changed: tuple[FileChange, ...], exclude: Collection[str] = ()
) -> None:
    for change in changed:
        if change.path not in exclude:
            console.print(f"  {_CHANGE_MARK.get(change.kind, '?')} {change.path}", markup=False)


def _print_recovery(console: Console, commands: tuple[str, ...], title: str) -> None:
    if commands:
        console.print(title, markup=False)
        for command in commands:
            console.print(f"  {command}", markup=False)


def _print_update_table(report: UpdateReport) -> None:
    out = unwrapped_console()
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("repository", "from", "to", "outcome", "changed", "conflicts"):
        table.add_column(column, no_wrap=True)
    table.add_column("note", overflow="fold")
    for result in report.results:
        note = ""
        if result.outcome == "failed":
            note = result.problem or "failed"
        elif result.branch:
            note = f"branch {result.branch}"
        table.add_row(
            _listed(result.path),
            result.from_version or "",
            result.to_version or "",
            str(result.outcome),
            str(len(result.changed)) if result.changed else "",
            str(len(result.conflicts)) if result.conflicts else "",
            note,
        )
    out.print(table)
    for result in report.results:
        if result.conflicts:
            out.print(f"\nConflicts in {_listed(result.path)} (not committed):", markup=False)
            for conflict in result.conflicts:
                out.print(f"  C {conflict.path}: {conflict.reason}", markup=False)
            _print_recovery(out, result.recovery, "  discard the update with:")
        elif result.outcome == "failed":
            out.print("\n" + _about(result.path, result.message), markup=False)
            _print_recovery(out, result.recovery, "  put it back as it was with:")
    out.print("\n" + _tally(str(r.outcome) for r in report.results), markup=False)


def describe_status(status: RepositoryStatus) -> str:
    """One line for one repository's status, as the progress display shows it."""
    return f"{status.path}: {_status_summary(status)}"


def _status_summary(status: RepositoryStatus) -> str:
    if status.state == "error":
        return f"error: {status.message}"
    where = f"{status.version} ({status.state}"
    if status.state == "behind" and status.latest:
        where += f", latest {status.latest}"
    where += ")"
    if status.drift is not None:
        where += f", {_count(len(status.drift), 'file')} drifted" if status.drift else ", no drift"
    if status.dirty:
        where += ", uncommitted changes"
    return where


def print_status_report(report: StatusReport, gates: Collection[str]) -> None:
    """Each repository's version, position and drift as a table, then the drifted files."""
    out = unwrapped_console()
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("repository", "version", "latest", "state", "drift"):
        table.add_column(column, no_wrap=True)
    table.add_column("note", overflow="fold")
    for status in report.results:
        if status.drift is None:
            drift = "not checked" if status.state != "error" else ""
        else:
            drift = _count(len(status.drift), "file") if status.drift else "none"
        notes = [status.problem or "error"] if status.state == "error" else []
        if status.message and status.state != "error":
            notes.append(status.message)
        if status.dirty:
            notes.append("uncommitted changes")
        if status.fails(gates):
            notes.append("FAILS the gate")
        state = status.state
        if status.state == "behind" and status.releases_behind:
            state += f" ({_count(status.releases_behind, 'release')})"
        table.add_row(
            _listed(status.path),
            status.version or "",
            status.latest or "",
            state,
            drift,
            "; ".join(notes),
        )
    out.print(table)
    for status in report.results:
        if status.state == "error":
            out.print("\n" + _about(status.path, status.message), markup=False)
        if status.drift:
            out.print(f"\nChanged by hand in {_listed(status.path)}:", markup=False)
            for change in status.drift[:_LISTED]:
                out.print(f"  {_CHANGE_MARK.get(change.kind, '?')} {change.path}", markup=False)
            if len(status.drift) > _LISTED:
                out.print(f"  ... and {len(status.drift) - _LISTED} more", markup=False)
    failing = report.failing(gates)
    summary = _tally(s.state for s in report.results)
    if failing:
        verb = "fails" if len(failing) == 1 else "fail"
        summary += f"; {_count(len(failing), 'repository', 'repositories')} {verb} the gate"
    out.print("\n" + summary, markup=False)


def _listed(path: str) -> str:
    """A repository's path as a person would write it here: relative when that is shorter."""
    shown = shown_path(Path(path))
    return path if shown.startswith("..") else shown


def _about(path: str, message: str) -> str:
    """MESSAGE, led by the repository's path unless it names it already."""
    return message if path in message else f"{_listed(path)}: {message}"


def _tally(states: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{count} {state}" for state, count in counts.items())


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else (plural or noun + 's')}"


def _quoted(path: str) -> str:
    return shlex.quote(path)
