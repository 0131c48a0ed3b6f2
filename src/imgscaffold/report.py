"""What the commands print for people."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import textwrap
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from imgscaffold.create import NewRepository, QuestionDefault
from imgscaffold.errors import FileSystemError
from imgscaffold.repository import FileChange
from imgscaffold.status import RepositoryStatus, StatusReport
from imgscaffold.update import UpdateReport, UpdateResult

R = TypeVar("R")
_LISTED = 10
_CHANGE_MARK = {"added": "A", "modified": "M", "deleted": "D"}


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def print_new_summary(result: NewRepository) -> None:
    """A short summary of the new repository and what to do next."""
    console = Console(highlight=False)
    answers = result.answers
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = {
        "service": str(answers.get("service_name", "")),
        "image": f"{answers.get('registry')}/{answers.get('image_repository')}",
        "stack": str(answers.get("stack", "")),
        "base image": str(answers.get("base_image", "")),
        "CI": str(answers.get("ci_provider", "")),
        "template": result.source + (f" @ {result.ref}" if result.ref else ""),
    }
    if result.commit:
        rows["commit"] = result.commit[:12]
    for name, value in rows.items():
        table.add_row(name, escape(value))
    where = _shown(result.path)
    console.print(f"Created image repository [bold]{escape(where)}[/bold]")
    console.print(table)
    if result.replaced:
        console.print(
            f"\nReplaced by the template ({len(result.replaced)}): "
            + escape(", ".join(result.replaced))
        )
    if result.left_alone:
        state = "left untracked, not committed" if result.commit else "left as they were"
        console.print(
            f"\nFiles that were already there, {state} ({len(result.left_alone)}): "
            + escape(", ".join(result.left_alone))
        )
    console.print("\nNext steps:")
    if where != ".":
        console.print(f"  cd {escape(shlex.quote(where))}")
    console.print("  ./local_build.sh            # development build, never pushed")
    console.print("  docker compose up           # or docker-compose up: run it with its volume")
    console.print("  git remote add origin URL && git push -u origin main   # CI builds and tests")
    console.print("  git tag v1.0.0 && git push --tags                      # release")


def print_questions(rows: list[QuestionDefault]) -> None:
    """The template's questions: each key with its default, then what it is for.

    A list, not a table: at any terminal width the help wraps between words and a
    default stays whole on its line, ready to copy into `--data KEY=VALUE`.
    """
    width = max(40, shutil.get_terminal_size().columns)
    lines: list[str] = []
    for row in rows:
        question = row.question
        about = question.help
        if question.choices:
            about += " One of: " + ", ".join(str(v) for v in question.choices.values()) + "."
        if question.when is not None:
            condition = str(question.when).strip().removeprefix("{{").removesuffix("}}").strip()
            about += f" Asked only when {condition}."
        lines.append(f"{question.name}={row.default}")
        lines += textwrap.wrap(
            about,
            width=width,
            initial_indent="    ",
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.append("")
    print("\n".join(lines), end="")


def _console(*, stderr: bool = False) -> Console:
    # Lines are never wrapped (logs and scripts read them); tables get room off a terminal.
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = max(console.width, 200)
    return console


@contextmanager
def progress(
    total: int, label: str, describe: Callable[[R], str], *, mode: bool | None
) -> Iterator[Callable[[R], None]]:
    """Show how a fleet run advances on stderr; yields the callback for each finished result.

    MODE None shows a live bar on a terminal and nothing otherwise; True prints a line per
    repository even without a terminal (CI logs); False shows nothing.
    """
    console = _console(stderr=True)
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


def write_json(data: dict[str, Any], dest: Path | None) -> None:
    """Write a machine-readable report to DEST, or to standard output when DEST is None."""
    text = json.dumps(data, indent=2) + "\n"
    if dest is None:
        sys.stdout.write(text)
    else:
        write_report(text, dest)


def write_report(text: str, dest: Path) -> None:
    """Write a report file; a file system error names the file."""
    try:
        dest.write_text(text, encoding="utf-8")
    except OSError as error:
        raise FileSystemError(f"cannot write {dest}: {error.strerror or error}") from None


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
        _console(stderr=True).print(
            "imgscaffold: interrupted; repositories not listed were left as they were",
            markup=False,
        )


def _print_one_update(result: UpdateResult) -> None:
    out, err = _console(), _console(stderr=True)
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
    out = _console()
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
    out = _console()
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
    shown = _shown(Path(path))
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
