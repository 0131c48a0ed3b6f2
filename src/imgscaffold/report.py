"""What the commands print for people."""

from __future__ import annotations

import os
from pathlib import Path

from imgscaffold.create import NewRepository


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def print_new_summary(result: NewRepository) -> None:
    """A short summary of the new repository and what to do next."""
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    answers = result.answers
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("service", str(answers.get("service_name", "")))
    table.add_row("image", f"{answers.get('registry')}/{answers.get('image_repository')}")
    table.add_row("stack", str(answers.get("stack", "")))
    table.add_row("base image", str(answers.get("base_image", "")))
    table.add_row("CI", str(answers.get("ci_provider", "")))
    template = result.source + (f" @ {result.ref}" if result.ref else "")
    table.add_row("template", template)
    if result.commit:
        table.add_row("commit", result.commit[:12])
    where = _shown(result.path)
    console.print(f"Created image repository [bold]{where}[/bold]")
    console.print(table)
    console.print("\nNext steps:")
    console.print(f"  cd {where}")
    console.print("  ./local_build.sh            # development build, never pushed")
    console.print("  docker compose up           # or docker-compose up: run it with its volume")
    console.print("  git remote add origin URL && git push -u origin main   # CI builds and tests")
    console.print("  git tag v1.0.0 && git push --tags                      # release")
