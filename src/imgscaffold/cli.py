"""The `imgscaffold` command: parses options and hands them to the library."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from imgscaffold import __version__
from imgscaffold.answers import (
    PRESET_ENV,
    AnswerLayers,
    check_answer,
    derive_from_machine,
    load_answers_file,
    parse_assignments,
)
from imgscaffold.check.reports import FORMATS, formats_help, render
from imgscaffold.check.rule import Severity
from imgscaffold.check.runner import check_image, check_paths
from imgscaffold.create import create_repository, question_defaults
from imgscaffold.errors import Aborted, ImgscaffoldError, UsageError, from_os_error
from imgscaffold.fleet.printing import (
    describe_status,
    describe_update,
    print_status_report,
    print_update_report,
)
from imgscaffold.fleet.printing import progress as progress_display
from imgscaffold.fleet.runner import collect, listed_in
from imgscaffold.fleet.status import parse_gates, statuses
from imgscaffold.fleet.update import UpdateOptions, update_repositories
from imgscaffold.questionnaire import stop_asking
from imgscaffold.report import print_new_summary, print_questions, write_json, write_report
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


class Command(typer.core.TyperCommand):
    """A command whose help names arguments as a person reads them (DEST, PATH...)."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = help_records(self, ctx)
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def help_records(command: Any, ctx: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The (name, help) rows of COMMAND's arguments and options, as `--help` shows them.

    typer adds the Python type to an argument's name (`PATH <list[Path]>`); the name
    here is the metavar alone, with '...' when the argument takes several values.
    """
    arguments: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            name = param.metavar or param.name.upper()
            if param.nargs != 1 and not name.endswith("..."):
                name += "..."
            arguments.append((name, record[1]))
        else:
            options.append(record)
    return arguments, options


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imgscaffold {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Start and keep up Docker image repositories that meet one image standard."""


@app.command(cls=Command)
def new(
    dest: Annotated[
        Path,
        typer.Argument(
            metavar="DEST",
            help="Folder for the new repository; created if missing, must be empty "
            "(a name that starts with '-' goes after '--').",
        ),
    ] = Path("."),
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults",
            help="Ask nothing: take every answer from the layers below "
            "or the template's defaults (for CI and scripts).",
        ),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Answer a question outright; repeatable. Strongest layer. "
            "--list-questions names the keys.",
        ),
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option(
            "--data-file", metavar="FILE", help="YAML file of answers; overridden by --data."
        ),
    ] = None,
    preset: Annotated[
        Path | None,
        typer.Option(
            "--preset",
            metavar="FILE",
            envvar=PRESET_ENV,
            help="Organisation preset (YAML answers) used as defaults; "
            "overridden by --data-file and --data.",
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="SRC",
            help="Render from another copier source (path, git URL, gh:org/repo) "
            "instead of the embedded template.",
        ),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option("--vcs-ref", metavar="REF", help="Git tag, branch or commit of --template."),
    ] = None,
    canonical_source: Annotated[
        str | None,
        typer.Option(
            "--canonical-source",
            metavar="URL",
            envvar=CANONICAL_SOURCE_ENV,
            help="Template repository that the new repository records as its "
            "source for later updates (embedded template only).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Render into a folder that is not empty.")
    ] = False,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Do not initialise git or commit.")
    ] = False,
    list_questions: Annotated[
        bool,
        typer.Option(
            "--list-questions",
            help="List the questions (the KEYs of --data and of data files) with their "
            "defaults for DEST, and exit.",
        ),
    ] = False,
) -> None:
    """Create a new image repository from the template and commit it.

    Interactive by default (questions in the terminal). With --defaults nothing is asked;
    answers come, weakest first, from the template's defaults, your git identity, the
    preset (--preset or $IMGSCAFFOLD_PRESET), --data-file and --data.
    """
    if list_questions:
        print_questions(question_defaults(dest))
        return
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
    print_new_summary(result)


class OutputFormat(StrEnum):
    """How fleet commands print their report."""

    table = "table"
    json = "json"


_Paths = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="PATH",
        help="Generated repositories (default: the current folder, unless --from-file or --scan).",
        show_default=False,
    ),
]
_FromFile = Annotated[
    Path | None,
    typer.Option(
        "--from-file",
        metavar="FILE",
        help="Also the repositories listed in FILE, one path a line ('#' comments).",
    ),
]
_Scan = Annotated[
    Path | None,
    typer.Option("--scan", metavar="DIR", help="Also every generated repository found under DIR."),
]
_Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        metavar="N",
        help="Repositories handled at once (default: one per processor).",
    ),
]
_Format = Annotated[
    OutputFormat,
    typer.Option("--format", help="Print a table for people or a JSON report for machines."),
]
_JsonFile = Annotated[
    Path | None,
    typer.Option("--json", metavar="FILE", help="Also write the JSON report to FILE."),
]
_Progress = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Show progress on stderr (default: a live bar on a terminal only).",
        show_default=False,
    ),
]
_Prereleases = Annotated[
    bool,
    typer.Option("--prereleases", help="Count pre-release tags (vX.Y.ZrcN) as versions."),
]


@app.command(cls=Command)
def update(
    paths: _Paths = None,
    from_file: _FromFile = None,
    scan: _Scan = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option(
            "--vcs-ref",
            metavar="VERSION",
            help="Template version (git tag) to update to (default: the latest release).",
        ),
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data", "-d", metavar="KEY=VALUE", help="Change an answer while updating; repeatable."
        ),
    ] = None,
    commit: Annotated[
        bool,
        typer.Option(
            "--commit",
            help="Commit a clean result on the branch imgscaffold/template-<version>.",
        ),
    ] = False,
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch",
            metavar="NAME",
            help="Commit a clean result on branch NAME ('{version}' is replaced); "
            "implies --commit.",
        ),
    ] = None,
    jobs: _Jobs = None,
    output_format: _Format = OutputFormat.table,
    json_file: _JsonFile = None,
    progress: _Progress = None,
    prereleases: _Prereleases = False,
) -> None:
    """Update generated repositories to a newer template version, safely.

    Each repository must have a clean working tree. Local changes are kept by copier's
    three-way merge; any conflict fails the command, is listed, and is never committed.
    Exit status: 0 when every repository is updated or already current, 1 otherwise.
    """
    repositories = collect(paths or [], from_file=from_file, scan=scan)
    options = UpdateOptions(
        vcs_ref=vcs_ref,
        data={k: check_answer(k, v, "--data") for k, v in parse_assignments(data or []).items()},
        commit=commit,
        branch=branch,
        prereleases=prereleases,
    )
    with progress_display(len(repositories), "updating", describe_update, mode=progress) as advance:
        report = update_repositories(repositories, options, jobs=jobs, on_done=advance)
    if json_file is not None:
        write_json(report.as_json(), json_file)
    if output_format is OutputFormat.json:
        write_json(report.as_json(), None)
    else:
        print_update_report(report)
    if report.interrupted:
        raise typer.Exit(Aborted.exit_code)
    raise typer.Exit(0 if report.ok else 1)


@app.command(cls=Command)
def status(
    paths: _Paths = None,
    from_file: _FromFile = None,
    scan: _Scan = None,
    drift: Annotated[
        bool,
        typer.Option(
            "--drift/--no-drift",
            help="Compare template files with what the answers render at the recorded version.",
        ),
    ] = True,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            metavar="LIST",
            help="Comma-separated conditions that make the exit status 1: behind, drift, "
            "dirty, or none. Repositories that cannot be checked always do.",
        ),
    ] = "behind,drift",
    jobs: _Jobs = None,
    output_format: _Format = OutputFormat.table,
    json_file: _JsonFile = None,
    progress: _Progress = None,
    prereleases: _Prereleases = False,
) -> None:
    """Show which template version each repository is on, and what was changed by hand.

    For CI: exit status 0 when no repository fails a --fail-on condition, 1 otherwise.
    """
    gates = parse_gates(fail_on, drift=drift)
    repositories = collect(paths or [], from_file=from_file, scan=scan)
    with progress_display(len(repositories), "checking", describe_status, mode=progress) as advance:
        report = statuses(
            repositories, drift=drift, prereleases=prereleases, jobs=jobs, on_done=advance
        )
    if json_file is not None:
        write_json(report.as_json(gates), json_file)
    if output_format is OutputFormat.json:
        write_json(report.as_json(gates), None)
    else:
        print_status_report(report, gates)
    if report.interrupted:
        raise typer.Exit(Aborted.exit_code)
    raise typer.Exit(1 if report.failing(gates) else 0)


#: `check --format`'s choices: the report formats, as imgscaffold.check.reports lists them
#: (built from that table, so mypy cannot see the members).
CheckFormat = StrEnum("CheckFormat", [(name, name) for name in FORMATS])  # type: ignore[misc]


@app.command(cls=Command)
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH",
            help="Repositories to check, any layout (default: the current folder unless --image).",
            show_default=False,
        ),
    ] = None,
    image: Annotated[
        list[str] | None,
        typer.Option(
            "--image",
            metavar="REF",
            help=(
                "Check an image on the local engine (repeatable); when REF names a registry "
                "host, also its signature, SBOM, provenance and base image there."
            ),
        ),
    ] = None,
    registry: Annotated[
        bool,
        typer.Option(
            "--registry/--no-registry",
            help="Read the registry that an --image REF names (off: offline, local rules only).",
        ),
    ] = True,
    from_file: _FromFile = None,
    output_format: Annotated[
        CheckFormat,
        typer.Option("--format", help=formats_help()),
    ] = CheckFormat["text"],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the report to FILE instead of stdout."
        ),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            metavar="LIST",
            help="Severities that fail, comma-separated: error, warning, info, or none. "
            "A lower severity fails with all those above it.",
        ),
    ] = "warning",
    hadolint: Annotated[
        bool,
        typer.Option(
            "--hadolint/--no-hadolint", help="Include hadolint's findings when it is installed."
        ),
    ] = True,
) -> None:
    """Check repositories (or images) against the image checklist.

    The rules assume Docker Engine 25 or newer, the oldest engine that generated
    repositories support (HEALTHCHECK --start-interval).

    Ignored rules go in .imgscaffold-check.toml at the repository root, each with a
    reason: ignore = [{ rule = "IMG008", reason = "...", path = "docker/*" }].

    Exit status: 0 when nothing at or above --fail-on is found, 1 when something is,
    2 for a usage error (bad option, unreadable ignore file, image not found), 3 when
    --image cannot use docker or read the registry, 74 when a file cannot be read or
    written.
    """
    threshold = Severity.threshold(fail_on)
    targets = list(paths or [])
    if from_file is not None:
        targets += listed_in(from_file)
    if not targets and not image:
        targets = [Path(".")]
    reports = check_paths(targets, hadolint=hadolint)
    reports += [check_image(ref, read_registry=registry) for ref in image or []]
    text = render(reports, output_format.value, fail_on=threshold or Severity.ERROR)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_report(text, output)
    failed = threshold is not None and any(r.failed(threshold) for r in reports)
    raise typer.Exit(1 if failed else 0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn every error into one line and an exit code.

    The one place that maps errors: imgscaffold's own, the command line's (unknown options,
    bad values), the operating system's (permission, space, a vanished folder), an
    interruption (Ctrl-C or SIGTERM) and a closed output pipe.
    """
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _interrupt)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="imgscaffold", standalone_mode=False)
    except KeyboardInterrupt:
        _fail(Aborted("interrupted"))
    except ImgscaffoldError as error:
        _fail(error)
    except BrokenPipeError:
        # The reader went away (`imgscaffold check | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except OSError as error:
        _fail(from_os_error(error))
    except Exception as error:
        if type(error).__name__ == "Abort":
            _fail(Aborted("interrupted"))
        if not _is_usage_error(error):
            raise
        if type(error).__name__ == "NoSuchOption":
            _hint_separator(error, args)
        error.show()  # type: ignore[attr-defined]
        sys.exit(error.exit_code)  # type: ignore[attr-defined]
    sys.exit(code if isinstance(code, int) else 0)


def _is_usage_error(error: Exception) -> bool:
    """Whether ERROR is the command line parser's (click's, which typer may carry inside)."""
    return callable(getattr(error, "show", None)) and isinstance(
        getattr(error, "exit_code", None), int
    )


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends a run as Ctrl-C does, so temporary folders are removed on the way out."""
    if not stop_asking():
        raise KeyboardInterrupt


def _hint_separator(error: Any, args: list[str]) -> None:
    """Say how to pass a path that starts with '-', which the parser took for options."""
    option = str(getattr(error, "option_name", ""))
    given = next((a for a in args if option and a.startswith(option) and a != "--"), None)
    context = getattr(error, "ctx", None)
    command = getattr(context, "info_name", None) or "COMMAND"
    if given is not None and not given.startswith("--"):
        error.message += (
            f". To name a folder that starts with '-', put '--' before it: "
            f"imgscaffold {command} -- {given}"
        )


def _fail(error: ImgscaffoldError) -> None:
    # A closed stderr leaves the exit code to tell.
    with contextlib.suppress(OSError):
        typer.echo(f"imgscaffold: error: {error}", err=True)
    sys.exit(error.exit_code)
