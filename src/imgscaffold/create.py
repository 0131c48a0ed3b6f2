"""Render a new image repository from the template, all or nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imgscaffold import git, questionnaire, rendering
from imgscaffold.answers import AnswerLayers, check_kinds, unknown_keys
from imgscaffold.destination import check_destination, place, rendered_files
from imgscaffold.errors import AnswerError, TemplateSourceError, UsageError
from imgscaffold.generated import read_answers
from imgscaffold.template import (
    Expressions,
    Question,
    canonical_source,
    embedded_template,
    questions,
    release_ref,
)


@dataclass(frozen=True)
class NewRepository:
    """What `imgscaffold new` produced."""

    path: Path
    answers: dict[str, Any]
    source: str
    ref: str | None
    commit: str | None
    replaced: list[str] = field(default_factory=list)
    """Files that were in DEST and that the render overwrote (--force)."""
    left_alone: list[str] = field(default_factory=list)
    """Files that were in DEST, not rendered, and so neither changed nor committed."""


def create_repository(
    dest: Path,
    *,
    layers: AnswerLayers,
    interactive: bool = False,
    template: str | None = None,
    vcs_ref: str | None = None,
    force: bool = False,
    canonical: str | None = None,
    init_git: bool = True,
) -> NewRepository:
    """Render the template into DEST, commit it, and point its answers at the template's home.

    Nothing is written to DEST unless rendering succeeds; the render happens in a
    temporary folder first. With --force into a folder with files, only the rendered
    files are committed.
    """
    target = check_destination(dest, force=force)
    if vcs_ref and not template:
        raise UsageError("--vcs-ref needs --template: the embedded template has one version")
    layers = layers.checked()
    given = layers.given_keys()
    if template is None:
        # Known before anything is asked or rendered: the embedded template's questions.
        embedded = questions(embedded_template())
        check_kinds(layers, embedded)
        _refuse_unknown(given, [q.name for q in embedded])
    with tempfile.TemporaryDirectory(prefix="imgscaffold-") as tmp:
        src = template or str(_plain_copy(embedded_template(), Path(tmp) / "template"))
        # The staging folder carries DEST's name: the template derives defaults from it.
        staging = Path(tmp) / "staging" / target.name
        staging.parent.mkdir()
        if interactive and template is None:
            # Our own questionnaire for the embedded template; copier checks the answers again.
            root = embedded_template()
            asked = questionnaire.ask(
                questions(root),
                Expressions(root, target.name),
                fixed=layers.fixed(),
                offered=layers.defaults(),
            )
            fixed = layers.fixed()
            layers = replace(layers, asked={k: v for k, v in asked.items() if k not in fixed})
            interactive = False
        asks = _render(src, staging, layers=layers, interactive=interactive, vcs_ref=vcs_ref)
        _refuse_unknown(given, asks)
        if template is None:
            rendering.record_source(
                staging / rendering.ANSWERS_FILE, canonical_source(canonical), release_ref()
            )
        answers = read_answers(staging)
        identity = (str(answers.get("maintainer_name")), str(answers.get("maintainer_email")))
        message = f"Start {answers.get('service_name', target.name)} from the image template"
        if answers.get(rendering.VERSION_KEY):
            message += f" {answers[rendering.VERSION_KEY]}"
        files = rendered_files(staging)
        commit = None
        if not target.had_content:
            if init_git:
                commit = git.commit_all(staging, message, identity)
            placed = place(staging, target)
            left_alone: list[str] = []
        else:
            before = set(rendered_files(target.path))
            placed = place(staging, target)
            if init_git:
                commit = git.commit_paths(target.path, files, message, identity)
                left_alone = git.untracked(target.path)
            else:
                left_alone = sorted(before - set(files))
    return NewRepository(
        path=target.shown,
        answers={k: v for k, v in answers.items() if not k.startswith("_")},
        source=str(answers.get(rendering.SOURCE_KEY, src)),
        ref=answers.get(rendering.VERSION_KEY),
        commit=commit,
        replaced=placed.replaced,
        left_alone=left_alone,
    )


def _refuse_unknown(given: set[str], asked: list[str]) -> None:
    extra = unknown_keys(given, asked)
    if extra:
        raise AnswerError(
            f"unknown question(s): {', '.join(extra)}; the template asks {', '.join(asked)}"
        )


@dataclass(frozen=True)
class QuestionDefault:
    """One question of the embedded template with the answer --defaults would give it."""

    question: Question
    default: Any
    asked: bool
    """Whether it is asked when the questions before it keep their defaults."""


def question_defaults(dest: Path) -> list[QuestionDefault]:
    """Every question with its default for a repository in DEST, earlier defaults applied."""
    root = embedded_template()
    name = Path(os.path.abspath(dest)).name or "repository"
    expressions = Expressions(root, name)
    answers: dict[str, Any] = {}
    rows = []
    for question in questions(root):
        asked = expressions.asked(question, answers)
        default = expressions.default(question, answers)
        if asked:
            answers[question.name] = default
        rows.append(QuestionDefault(question, default, asked))
    return rows


def _plain_copy(root: Path, into: Path) -> Path:
    """The embedded template as a plain folder, as installed, even in a source checkout.

    Copier renders a git checkout at its last commit; the embedded template is the files.
    """
    if not (root / ".git").exists():
        return root
    into.mkdir()
    shutil.copy2(root / "copier.yml", into / "copier.yml")
    shutil.copytree(root / "template", into / "template")
    return into


def _render(
    src: str,
    staging: Path,
    *,
    layers: AnswerLayers,
    interactive: bool,
    vcs_ref: str | None,
) -> list[str]:
    """Render SRC into STAGING; return the questions the template asks."""
    if interactive:
        data, user_defaults = layers.fixed(), layers.defaults()
    else:
        # Passed as data, every answer goes through the template's validators.
        data, user_defaults = layers.merged(), {}
    action = rendering.Action(
        doing=f"render template {src}",
        template=src,
        verb="renders",
        failure=TemplateSourceError,
        bad_answers=TemplateSourceError,
        origin={key: layers.origin(key) for key in layers.merged()},
        fresh=True,
    )
    return rendering.copy(
        src,
        staging,
        action=action,
        data=data,
        user_defaults=user_defaults,
        defaults=not interactive,
        vcs_ref=vcs_ref,
        show_warnings=True,
    )
