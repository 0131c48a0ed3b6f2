"""Copier, behind one door: render, update, and the answers file it keeps.

This is the only module that imports copier, and it does so on first use: copier and
what it brings take about 0.6 s to import, which `imgscaffold --help` and `imgscaffold
check` should not pay. It runs copier's copy and update with the settings imgscaffold
always wants (quiet, no trust, answers validated by the template) and turns copier's many
exceptions into ours in one place, worded by what the run was doing.
The answers file's facts (its name, the keys that say where the template came from) live
here too, with the one function that rewrites them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from imgscaffold.answers import rejected_answer
from imgscaffold.errors import Aborted, ImgscaffoldError, TemplateSourceError
from imgscaffold.template import yaml_scalar

#: The answers file copier writes into every generated repository.
ANSWERS_FILE = ".copier-answers.yml"
#: Its keys that say where the template came from: the source and the version (a git tag).
SOURCE_KEY = "_src_path"
VERSION_KEY = "_commit"
_RECORDED = (f"{SOURCE_KEY}:", f"{VERSION_KEY}:")


@dataclass(frozen=True)
class Action:
    """What a copier run does, in the words its errors use.

    `doing` completes "cannot ..."; `failure` is the error a failed run becomes and
    `bad_answers` the one answers copier refuses become (when no answer is named).
    """

    doing: str
    template: str
    verb: str
    failure: type[ImgscaffoldError]
    bad_answers: type[ImgscaffoldError]
    answers_context: str = ""
    origin: Mapping[str, str] = field(default_factory=dict)
    #: A fresh render in a folder of its own: an interrupt leaves nothing behind, and any
    #: exception copier raises for a source it cannot use is that source's failure.
    fresh: bool = False


def copy(
    src: str,
    dest: Path,
    *,
    action: Action,
    data: Mapping[str, Any],
    user_defaults: Mapping[str, Any] | None = None,
    defaults: bool = True,
    vcs_ref: str | None = None,
    exclude: Collection[str] = (),
    show_warnings: bool = False,
) -> list[str]:
    """Render SRC into DEST with DATA as answers; return the names of its questions.

    Copier's warnings (a template without tags, say) reach the user with SHOW_WARNINGS.
    """
    with _translated(action), warnings.catch_warnings():
        if not show_warnings:
            warnings.simplefilter("ignore")
        worker = _copier().run_copy(
            src,
            dest,
            data=dict(data),
            user_defaults=dict(user_defaults or {}),
            defaults=defaults,
            vcs_ref=vcs_ref,
            overwrite=True,
            quiet=True,
            unsafe=False,
            cleanup_on_error=True,
            exclude=list(exclude),
        )
    return [str(name) for name in worker.template.questions_data]


def update(
    where: Path,
    *,
    action: Action,
    data: Mapping[str, Any],
    vcs_ref: str,
    env: Mapping[str, str],
) -> None:
    """Take the repository at WHERE to VCS_REF, merging conflicts inline; ENV for its git."""
    with _translated(action), environment(env), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _copier().run_update(
            str(where),
            data=dict(data),
            defaults=True,
            overwrite=True,
            skip_answered=True,
            vcs_ref=vcs_ref,
            quiet=True,
            unsafe=False,
            conflict="inline",
        )


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Run copier (in this process) with ENV; copier's git runs read plumbum's copy of it."""
    from plumbum import local  # copier's own dependency, as lazy as copier

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        with local.env(**env):
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _translated(action: Action) -> Iterator[None]:
    """Copier's exceptions as ours: the one mapping."""
    from copier.errors import CopierAnswersInterrupt, CopierError, UnsafeTemplateError

    try:
        yield
    except (CopierAnswersInterrupt, KeyboardInterrupt):
        if not action.fresh:
            raise
        raise Aborted("interrupted; nothing was written") from None
    except UnsafeTemplateError:
        raise TemplateSourceError(
            f"template {action.template} needs copier --trust (tasks, migrations or "
            f"extensions); imgscaffold {action.verb} only templates that need no trust"
        ) from None
    except ValueError as error:
        rejected = rejected_answer(str(error), context=action.answers_context, origin=action.origin)
        if rejected:
            raise rejected from None
        raise action.bad_answers(f"cannot {action.doing}: {_one_line(error)}") from None
    except CopierError as error:
        raise action.failure(f"cannot {action.doing}: {_one_line(error)}") from None
    except ImgscaffoldError:
        raise
    except Exception as error:
        # Copier reports an unknown or unreachable source through many exception types.
        if not action.fresh:
            raise
        raise action.failure(f"cannot {action.doing}: {_one_line(error)}") from None


def record_source(answers_file: Path, source: str, version: str | None = None) -> None:
    """Make ANSWERS_FILE name SOURCE (and VERSION, when given) as where it came from.

    With VERSION, the file is written as a render from that git tag would write it: the
    comment header, then the version and source, then the answers. Without it, only the
    source line is replaced (copier may have written the mirror it fetched from).
    """
    lines = answers_file.read_text(encoding="utf-8").splitlines(keepends=True)
    wanted_source = f"{SOURCE_KEY}: {yaml_scalar(source)}\n"
    if version is None:
        fixed = [wanted_source if line.startswith(f"{SOURCE_KEY}:") else line for line in lines]
    else:
        header = [line for line in lines if line.startswith("#")]
        body = [line for line in lines if not line.startswith(("#", *_RECORDED)) and line.strip()]
        fixed = [*header, f"{VERSION_KEY}: {yaml_scalar(version)}\n", wanted_source, *body]
    if fixed != lines:
        answers_file.write_text("".join(fixed), encoding="utf-8")


def without_source(answers: bytes) -> bytes:
    """The answers file's content without the lines that say where the template came from."""
    recorded = tuple(key.encode() for key in _RECORDED)
    return b"".join(
        line for line in answers.splitlines(keepends=True) if not line.startswith(recorded)
    )


def _copier() -> ModuleType:
    import copier

    return copier


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
