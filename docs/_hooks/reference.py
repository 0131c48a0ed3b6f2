"""MkDocs hook: fills the reference pages from the sources of truth.

A page asks for a generated section with a marker on a line of its own:

    <!-- reference: questions -->

The sections are the template's questions (copier.yml), the CLI's commands and
options (the typer app), the checks (imgscaffold.check.rules.catalogue()), the rendered
image's environment variables (template/.partials/settings.jinja) and worked examples
of the tag policy (the rendered ci/lib.sh's own `release_tags`). Nothing listed there is
typed into the docs by hand, so the reference cannot drift from the code.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import typer

from imgscaffold import template
from imgscaffold.check.rule import SLUGS
from imgscaffold.cli import app

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- reference: ([a-z0-9-]+) -->$", re.MULTILINE)

# Placeholder answers for rendering the settings list outside copier.
SAMPLE_ANSWERS = {"service_name": "<service_name>", "service_port": 8080, "data_dir": "/data"}


CODE_SPAN = re.compile(r"(`+).+?(?<!`)\1(?!`)")


def _plain(text: str) -> str:
    # `<version>` in a help text is a placeholder, not an HTML tag to pass through.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


def cell(text: object) -> str:
    """Text fit for one Markdown table cell; its code spans are left as written."""
    value = " ".join(str(text).split())
    parts, end = [], 0
    for span in CODE_SPAN.finditer(value):
        parts += [_plain(value[end : span.start()]), span.group()]
        end = span.end()
    parts.append(_plain(value[end:]))
    return "".join(parts)


def code(text: object) -> str:
    """A code span; its pipes need no escape (a table does not split cells inside one)."""
    value = " ".join(str(text).split())
    fence = "``" if "`" in value else "`"
    pad = " " if "`" in value else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---- template questions ----


def questions() -> str:
    data = template._load_copier_yml(ROOT)
    parts = []
    for q in template.questions(ROOT):
        spec = data[q.name]
        parts.append(f"### `{q.name}`\n")
        parts.append(f"{cell(q.help)}\n")
        facts = [("Type", code(q.type))]
        if q.default is not None:
            facts.append(("Default", code(q.default)))
        if "when" in spec:
            facts.append(("Asked when", code(spec["when"])))
        if "validator" in spec:
            facts.append(("Validated", "yes: a wrong answer is refused with a reason"))
        parts.append(table(("Property", "Value"), facts) + "\n")
        if q.choices:
            parts.append(
                table(("Choice", "Meaning"), ((code(v), cell(k)) for k, v in q.choices.items()))
                + "\n"
            )
    return "\n".join(parts)


# ---- CLI ----


def _commands(typer_app: typer.Typer) -> list[tuple[str, Any]]:
    """The root command and its sub-commands (typer's own click-compatible objects)."""
    root = typer.main.get_command(typer_app)
    subcommands: dict[str, Any] = getattr(root, "commands", {})
    found: list[tuple[str, Any]] = [("imgscaffold", root)]
    for name in sorted(subcommands):
        found.append((f"imgscaffold {name}", subcommands[name]))
    return found


def command_names() -> list[str]:
    """Every command the reference lists (the test checks each is documented)."""
    return [name for name, _ in _commands(app)]


# typer's help records put its own type notation after each name (`PATH <list[Path]>`,
# `--format <text|json>`). The reference writes the names as click and argparse help do
# instead: the declared metavar, or one made from the parameter's name or choices.


def _choices(param: Any) -> list[str]:
    """The values a parameter takes when it takes one of a few (enum members by value)."""
    # Newer typer describes the type itself; older typer hands click a Choice type.
    choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
    if choices is None:
        choices = getattr(getattr(param, "type", None), "choices", None)
    return [str(getattr(choice, "value", choice)) for choice in choices or ()]


def _metavar(param: Any) -> str:
    """What stands for the value: PATH, DEST, FILE, [a|b]; `...` when it repeats."""
    choices = _choices(param)
    if param.metavar:
        metavar = str(param.metavar)
    elif choices and param.param_type_name == "option":
        metavar = "[" + "|".join(choices) + "]"
    else:
        metavar = str(param.name).upper()
    if param.nargs != 1 and not metavar.endswith("..."):
        metavar += "..."
    return metavar


def _option_names(opts: Sequence[str]) -> str:
    return ", ".join(sorted(opts, key=lambda opt: opt.startswith("--")))


def param_label(param: Any) -> str:
    """An option or argument as a person reads it in help: `-o, --output FILE`, `PATH...`."""
    if param.param_type_name == "argument":
        return _metavar(param)
    names = _option_names(param.opts)
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        if param.secondary_opts:
            names += " / " + _option_names(param.secondary_opts)
        return names
    return f"{names} {_metavar(param)}"


def _usage(name: str, command: Any, params: Sequence[Any]) -> str:
    pieces = [f"Usage: {name}", "[OPTIONS]"]
    for param in params:
        if param.param_type_name != "argument":
            continue
        metavar = _metavar(param)
        repeats = metavar.endswith("...")
        piece = metavar.removesuffix("...") if repeats else metavar
        if not param.required:
            piece = f"[{piece}]"
        pieces.append(piece + ("..." if repeats else ""))
    if getattr(command, "commands", None):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def cli(typer_app: typer.Typer = app) -> str:
    parts = []
    for name, command in _commands(typer_app):
        ctx = command.context_class(command, info_name=name)
        params = [
            param
            for param in command.get_params(ctx)
            if param.name != "help" and not getattr(param, "hidden", False)
        ]
        parts.append(f"## `{name}`\n")
        parts.append(f"```text\n{_usage(name, command, params)}\n```\n")
        if command.help:
            parts.append(command.help.strip() + "\n")
        rows = []
        for param in params:
            # The help record's text carries the defaults, env vars and ranges.
            record = param.get_help_record(ctx)
            text = record[1] if record else (getattr(param, "help", None) or "")
            rows.append((code(param_label(param)), cell(text)))
        if rows:
            parts.append(table(("Option or argument", "Meaning"), rows) + "\n")
    return "\n".join(parts)


# ---- checks ----


def checks() -> str:
    from imgscaffold.check.rules import catalogue

    rules = sorted(catalogue(), key=lambda rule: rule.id)
    rows = (
        (
            f"`{rule.id}`",
            f"[{rule.row}](../guide/{guide_slug(rule.row)}.md)",
            cell(rule.title),
            cell(rule.severity),
            cell(rule.fix),
        )
        for rule in rules
    )
    return table(("ID", "Row", "Checks that", "Severity", "Fix"), rows)


def checks_for_row(row: int) -> str:
    from imgscaffold.check.rules import catalogue

    rules = sorted((r for r in catalogue() if r.row == row), key=lambda rule: rule.id)
    if not rules:
        return "No check reads this property from files; the engine tests prove it.\n"
    return table(
        ("ID", "Checks that", "Severity"),
        ((f"[`{r.id}`](../reference/checks.md)", cell(r.title), cell(r.severity)) for r in rules),
    )


GUIDE_SLUGS = SLUGS


def guide_slug(row: int) -> str:
    return GUIDE_SLUGS[row]


# ---- the rendered image's environment ----


def _settings() -> list[dict[str, Any]]:
    loader = jinja2.FileSystemLoader(str(ROOT))
    env = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined)
    module = env.get_template("template/.partials/settings.jinja").make_module(SAMPLE_ANSWERS)
    settings: list[dict[str, Any]] = module.settings  # type: ignore[attr-defined]
    return settings


def setting_names() -> list[str]:
    return [s["name"] for s in _settings()]


def environment() -> str:
    rows = []
    for s in _settings():
        where = "environment only" if s["env_only"] else "environment or config dir"
        if s["secret"]:
            where += f"; or a file named by `{s['name']}_FILE`"
        default = code(s["default"]) if s["default"] else "empty"
        rows.append((f"`{s['name']}`", default, cell(s["description"]), where))
    return table(("Variable", "Default", "Meaning", "Set from"), rows)


# ---- tag policy ----

TAG_HISTORY = ("v1.0.0", "v1.1.0", "v2.0.0-rc.1", "v1.1.1", "v2.0.0", "v1.2.0", "v1.1.2")


@cache
def _rendered_lib() -> str:
    """The rendered ci/lib.sh of a default repository (the policy is written there)."""
    from imgscaffold.answers import AnswerLayers
    from imgscaffold.create import create_repository

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # copier warns that the working tree is dirty
        dest = Path(tmp) / "service"
        create_repository(dest, layers=AnswerLayers(), template=str(ROOT), init_git=False)
        return (dest / "ci" / "lib.sh").read_text(encoding="utf-8")


def _release_tags(version: str, existing: Sequence[str]) -> list[str]:
    script = '. "$1"; shift; release_tags "$@"'
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as lib:
        lib.write(_rendered_lib())
        lib.flush()
        done = subprocess.run(
            ["sh", "-c", script, "sh", lib.name, version, *existing],
            capture_output=True,
            text=True,
            check=True,
        )
    return done.stdout.split()


def tag_policy() -> str:
    rows = []
    released: list[str] = []
    for tag in TAG_HISTORY:
        version = tag.removeprefix("v")
        tags = _release_tags(version, released)
        released.append(tag)
        rows.append((f"`{tag}`", " ".join(f"`{t}`" for t in tags)))
    return table(("Release (git tag, in this order)", "Image tags set to the tested digest"), rows)


SECTIONS: dict[str, Callable[[], str]] = {
    "questions": questions,
    "cli": cli,
    "checks": checks,
    "environment": environment,
    "tag-policy": tag_policy,
    **{f"checks-row-{row}": (lambda row=row: checks_for_row(row)) for row in GUIDE_SLUGS},
}


def expand(markdown: str) -> str:
    def section(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in SECTIONS:
            raise ValueError(f"unknown reference section {name!r}; known: {', '.join(SECTIONS)}")
        return SECTIONS[name]()

    return MARKER.sub(section, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return expand(markdown)
