"""The `imgscaffold` command: parses options and hands them to the library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from imgscaffold import __version__
from imgscaffold.answers import PRESET_ENV
from imgscaffold.errors import Aborted, ImgscaffoldError, UsageError
from imgscaffold.template import CANONICAL_SOURCE_ENV

app = typer.Typer(
    name="imgscaffold",
    help=(
        "Start and keep up Docker image repositories that are built, tested, labelled, "
        "tagged and released the same way."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imgscaffold {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version,
                     is_eager=True),
    ] = False,
) -> None:
    """Start and keep up Docker image repositories that meet one image standard."""


@app.command()
def new(
    dest: Annotated[
        Path,
        typer.Argument(help="Folder for the new repository; created if missing, must be empty."),
    ] = Path("."),
    defaults: Annotated[
        bool,
        typer.Option("--defaults", help="Ask nothing: take every answer from the layers below "
                     "or the template's defaults (for CI and scripts)."),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", metavar="KEY=VALUE",
                     help="Answer a question outright; repeatable. Strongest layer."),
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option("--data-file", metavar="FILE",
                     help="YAML file of answers; overridden by --data."),
    ] = None,
    preset: Annotated[
        Path | None,
        typer.Option("--preset", metavar="FILE", envvar=PRESET_ENV,
                     help="Organisation preset (YAML answers) used as defaults; "
                     "overridden by --data-file and --data."),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", metavar="SRC",
                     help="Render from another copier source (path, git URL, gh:org/repo) "
                     "instead of the embedded template."),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option("--vcs-ref", metavar="REF", help="Git tag, branch or commit of --template."),
    ] = None,
    canonical_source: Annotated[
        str | None,
        typer.Option("--canonical-source", metavar="URL", envvar=CANONICAL_SOURCE_ENV,
                     help="Template repository that the new repository records as its "
                     "source for later updates (embedded template only)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Render into a folder that is not empty.")
    ] = False,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Do not initialise git or commit.")
    ] = False,
) -> None:
    """Create a new image repository from the template and commit it.

    Interactive by default (questions in the terminal). With --defaults nothing is asked;
    answers come, weakest first, from the template's defaults, your git identity, the
    preset (--preset or $IMGSCAFFOLD_PRESET), --data-file and --data.
    """
    from imgscaffold.answers import AnswerLayers, derive_from_machine, load_answers_file, \
        parse_assignments
    from imgscaffold.create import create_repository

    interactive = not defaults
    if interactive and not sys.stdin.isatty():
        raise UsageError(
            "no terminal to ask the questions on; pass --defaults (with --data, --data-file "
            "or --preset) for a non-interactive run"
        )
    layers = AnswerLayers(
        derived=derive_from_machine(),
        preset=load_answers_file(preset, "preset file") if preset else {},
        data_file=load_answers_file(data_file, "data file") if data_file else {},
        cli=parse_assignments(data or []),
    )
    result = create_repository(
        dest,
        layers=layers,
        interactive=interactive,
        template=template,
        vcs_ref=vcs_ref,
        force=force,
        canonical=canonical_source,
        init_git=not no_git,
    )
    from imgscaffold.report import print_new_summary

    print_new_summary(result)


def main() -> None:
    """Entry point: run the app and turn errors meant for the user into one line."""
    try:
        app()
    except KeyboardInterrupt:
        _fail(Aborted("interrupted"))
    except ImgscaffoldError as error:
        _fail(error)


def _fail(error: ImgscaffoldError) -> None:
    typer.echo(f"imgscaffold: error: {error}", err=True)
    sys.exit(error.exit_code)
