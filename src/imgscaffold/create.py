"""Render a new image repository from the template, all or nothing."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgscaffold import git
from imgscaffold.answers import AnswerLayers, rejected_answer, unknown_keys
from imgscaffold.errors import (
    Aborted,
    AnswerError,
    DestinationError,
    ImgscaffoldError,
    TemplateSourceError,
    UsageError,
)
from imgscaffold.template import (
    Question,
    canonical_source,
    embedded_template,
    questions,
    release_ref,
)

ANSWERS_FILE = ".copier-answers.yml"


@dataclass(frozen=True)
class NewRepository:
    """What `imgscaffold new` produced."""

    path: Path
    answers: dict[str, Any]
    source: str
    ref: str | None
    commit: str | None


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
    temporary folder first.
    """
    dest = dest.expanduser().absolute()
    _check_destination(dest, force=force)
    if vcs_ref and not template:
        raise UsageError("--vcs-ref needs --template: the embedded template has one version")
    if template is None:
        _check_types(layers.merged(), questions(embedded_template()))
    with tempfile.TemporaryDirectory(prefix="imgscaffold-") as tmp:
        src = template or str(_plain_copy(embedded_template(), Path(tmp) / "template"))
        # The staging folder carries DEST's name: the template derives defaults from it.
        staging = Path(tmp) / (dest.name or "repository")
        worker = _render(src, staging, layers=layers, interactive=interactive, vcs_ref=vcs_ref)
        extra = unknown_keys(layers.given_keys(), worker.template.questions_data)
        if extra:
            raise AnswerError(
                f"unknown question(s): {', '.join(extra)}; the template asks "
                f"{', '.join(worker.template.questions_data)}"
            )
        if template is None:
            _point_answers_at(staging / ANSWERS_FILE, canonical_source(canonical), release_ref())
        answers = _read_answers(staging / ANSWERS_FILE)
        identity = (str(answers.get("maintainer_name")), str(answers.get("maintainer_email")))
        message = f"Start {answers.get('service_name', dest.name)} from the image template"
        if answers.get("_commit"):
            message += f" {answers['_commit']}"
        commit = _place(staging, dest, init_git=init_git, message=message, identity=identity)
    return NewRepository(
        path=dest,
        answers={k: v for k, v in answers.items() if not k.startswith("_")},
        source=str(answers.get("_src_path", src)),
        ref=answers.get("_commit"),
        commit=commit,
    )


def _check_types(answers: dict[str, Any], asked: list[Question]) -> None:
    """Catch answers of the wrong kind before copier does, naming the question."""
    kinds: dict[str, tuple[type, str]] = {
        "int": (int, "a whole number"),
        "float": (float, "a number"),
    }
    for question in asked:
        if question.name not in answers or question.type not in kinds:
            continue
        kind, what = kinds[question.type]
        value = answers[question.name]
        try:
            kind(value)
        except (TypeError, ValueError):
            raise AnswerError(
                f"invalid answer for {question.name}: must be {what}, got {value!r}"
            ) from None


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


def _check_destination(dest: Path, *, force: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise DestinationError(f"{dest} exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise DestinationError(
            f"{dest} is not empty; choose a new folder, or pass --force to render into it"
        )
    anchor = next((p for p in dest.parents if p.exists()), None)
    if anchor is None or not anchor.is_dir():
        raise DestinationError(f"cannot create {dest}: no existing parent folder")


def _render(
    src: str,
    staging: Path,
    *,
    layers: AnswerLayers,
    interactive: bool,
    vcs_ref: str | None,
) -> Any:
    import copier
    from copier.errors import CopierAnswersInterrupt, CopierError, UnsafeTemplateError

    if interactive:
        data, user_defaults = layers.fixed(), layers.defaults()
    else:
        # Passed as data, every answer goes through the template's validators.
        data, user_defaults = layers.merged(), {}
    try:
        return copier.run_copy(
            src,
            staging,
            data=data,
            user_defaults=user_defaults,
            defaults=not interactive,
            vcs_ref=vcs_ref,
            quiet=True,
            unsafe=False,
            cleanup_on_error=True,
        )
    except (CopierAnswersInterrupt, KeyboardInterrupt):
        raise Aborted("interrupted; nothing was written") from None
    except UnsafeTemplateError:
        raise TemplateSourceError(
            f"template {src} uses features that need --trust; imgscaffold renders only "
            "templates that need no trust"
        ) from None
    except ValueError as error:
        rejected = rejected_answer(str(error))
        if rejected:
            raise rejected from None
        text = " ".join(str(error).split())
        raise TemplateSourceError(f"cannot use template {src}: {text}") from None
    except (CopierError, OSError, subprocess.CalledProcessError) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise TemplateSourceError(f"cannot render template {src}: {detail}") from None
    except Exception as error:
        # Copier reports an unknown or unreachable source through many exception types.
        if isinstance(error, ImgscaffoldError):
            raise
        detail = " ".join(str(error).split()) or type(error).__name__
        raise TemplateSourceError(f"cannot use template {src}: {detail}") from None


def _point_answers_at(answers_file: Path, source: str, ref: str) -> None:
    """Record the canonical template and release tag, as a render from git would."""
    from ruamel.yaml import YAML

    lines = answers_file.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    body = [
        line
        for line in lines
        if not line.startswith(("#", "_src_path:", "_commit:")) and line.strip()
    ]
    yaml = YAML()
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump({"_commit": ref, "_src_path": source}, buffer)
    answers_file.write_text("".join([*header, buffer.getvalue(), *body]), encoding="utf-8")


def _read_answers(answers_file: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(answers_file.read_text(encoding="utf-8"))
    return dict(data) if isinstance(data, dict) else {}


def _place(
    staging: Path, dest: Path, *, init_git: bool, message: str, identity: tuple[str, str]
) -> str | None:
    """Move the rendered tree into DEST; on any failure leave DEST as it was."""
    fresh = not dest.exists() or not any(dest.iterdir())
    if fresh:
        commit = git.commit_all(staging, message, identity) if init_git else None
        created = _missing_parents(dest)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                dest.rmdir()
            shutil.move(str(staging), str(dest))
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            for folder in created:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        return commit
    # --force into a folder with content: overlay the files, then commit there.
    shutil.copytree(staging, dest, dirs_exist_ok=True)
    return git.commit_all(dest, message, identity) if init_git else None


def _missing_parents(dest: Path) -> list[Path]:
    """Parent folders of DEST that do not exist yet, outermost first."""
    return [p for p in reversed(dest.parents) if not p.exists()]
