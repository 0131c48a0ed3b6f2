"""What `new` prints for people, and the plain console and report files other commands use."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from imgscaffold.create import NewRepository, QuestionDefault
from imgscaffold.errors import FileSystemError


def shown_path(path: Path) -> str:
    """PATH relative to the working directory, as given when it cannot be."""
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
    where = shown_path(result.path)
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


def unwrapped_console(*, stderr: bool = False) -> Console:
    """A console that never wraps lines (logs and scripts read them).

    Off a terminal it is at least 200 columns wide, so tables have room.
    """
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = max(console.width, 200)
    return console


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
