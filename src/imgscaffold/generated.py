"""A repository generated from the template: its answers, its working tree, its pending update."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from imgscaffold import git
from imgscaffold.errors import (
    AnswersFileError,
    DirtyTreeError,
    InterruptedUpdateError,
    NotGeneratedError,
    UntrackedFilesError,
)
from imgscaffold.rendering import ANSWERS_FILE, SOURCE_KEY, VERSION_KEY

#: Kept in the repository's git folder while an update runs, so a later run can say what
#: happened if this one is killed half-way; never part of the working tree.
MARKER_FILE = "imgscaffold-update.json"
_SHOWN = 5


@dataclass(frozen=True)
class FileChange:
    """One path that differs from the last commit."""

    path: str
    kind: str  # "added", "modified" or "deleted"
    tracked: bool = True


@dataclass(frozen=True)
class GeneratedRepository:
    """A git repository whose answers file says which template and version it came from."""

    path: Path
    source: str
    version: str
    answers: dict[str, Any]

    @classmethod
    def open(cls, path: Path) -> GeneratedRepository:
        """Read PATH's answers file; say plainly why PATH is not a generated repository."""
        if not path.is_dir():
            raise NotGeneratedError(f"{path} is not a folder")
        top = git.call(path, "rev-parse", "--show-toplevel")
        if top.returncode != 0:
            raise NotGeneratedError(f"{path} is not a git repository")
        if Path(top.stdout.strip()).resolve() != path.resolve():
            raise NotGeneratedError(
                f"{path} is inside the git repository {top.stdout.strip()}, not at its top"
            )
        answers = read_answers(path)
        source, version = answers.get(SOURCE_KEY), answers.get(VERSION_KEY)
        if not isinstance(source, str) or not source:
            raise AnswersFileError(
                f"{ANSWERS_FILE} in {path} does not name its template ({SOURCE_KEY})"
            )
        if not isinstance(version, str) or not version:
            raise AnswersFileError(
                f"{ANSWERS_FILE} in {path} does not name its template version ({VERSION_KEY}); "
                "render from a git tag of the template to make it updatable"
            )
        return cls(path=path, source=source, version=version, answers=answers)

    def questions_answers(self) -> dict[str, Any]:
        """The answers to the template's questions, without copier's own `_` entries."""
        return {k: v for k, v in self.answers.items() if not k.startswith("_")}


def read_answers(path: Path) -> dict[str, Any]:
    """The answers file of the repository at PATH as a mapping."""
    answers_file = path / ANSWERS_FILE
    if not answers_file.is_file():
        raise NotGeneratedError(
            f"{path} was not generated from a template: it has no {ANSWERS_FILE}"
        )
    try:
        data = YAML(typ="safe").load(answers_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AnswersFileError(f"{ANSWERS_FILE} in {path} cannot be read: {first}") from None
    if not isinstance(data, dict):
        raise AnswersFileError(f"{ANSWERS_FILE} in {path} is not a mapping of answers")
    return {str(k): v for k, v in data.items()}


def changes(path: Path) -> list[FileChange]:
    """Tracked and untracked (not ignored) paths that differ from HEAD, one entry per file."""
    out = git.run(path, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries = out.split("\0")
    found: list[FileChange] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        code, name = entry[:2], entry[3:]
        if code[0] in "RC":
            index += 1  # the next entry is the path the file was renamed or copied from
        if code == "??":
            kind = "added"
        elif "D" in code and "U" not in code:
            kind = "deleted"
        elif code[0] == "A" and code[1] in " M":
            kind = "added"
        else:
            kind = "modified"
        found.append(FileChange(name, kind, tracked=code != "??"))
    return found


def unmerged(path: Path) -> list[str]:
    """Paths git records as unmerged (copier marks its inline conflicts so)."""
    out = git.run(path, "diff", "--name-only", "-z", "--diff-filter=U")
    return [name for name in out.split("\0") if name]


def recovery_commands(path: Path, marker: dict[str, Any] | None = None) -> list[str]:
    """Git commands that put the repository back to its last commit (and branch)."""
    where = shlex.quote(str(path))
    commands = [f"git -C {where} reset --hard HEAD", f"git -C {where} clean -fd"]
    marker = marker or {}
    original, branch = marker.get("original_branch"), marker.get("branch")
    if isinstance(branch, str) and isinstance(original, str) and branch != original:
        commands += [
            f"git -C {where} switch {shlex.quote(original)}",
            f"git -C {where} branch -D {shlex.quote(branch)}",
        ]
    return commands


def check_clean(path: Path) -> None:
    """Refuse a working tree that an update could mix its changes with."""
    marker = read_marker(path)
    pending = changes(path)
    if marker is not None:
        if not pending:
            # Nothing left behind: the update finished (or was undone) after all.
            clear_marker(path)
        else:
            raise InterruptedUpdateError(_interrupted_message(path, marker))
    if not pending:
        return
    untracked = [c.path for c in pending if not c.tracked]
    tracked = [c.path for c in pending if c.tracked]
    if tracked:
        raise DirtyTreeError(
            f"{path} has uncommitted changes ({_some(tracked)}); commit or stash them and run again"
        )
    raise UntrackedFilesError(
        f"{path} has untracked files ({_some(untracked)}); commit, remove or ignore them "
        "and run again"
    )


def _interrupted_message(path: Path, marker: dict[str, Any]) -> str:
    target = marker.get("to", "a newer version")
    undo = " && ".join(recovery_commands(path, marker))
    if marker.get("state") == "conflicts":
        return (
            f"the update of {path} to {target} left conflicts that are not resolved yet; "
            f"resolve them and commit, or discard the update with: {undo}"
        )
    return (
        f"an update of {path} to {target} was interrupted half-way and left changes; "
        f"discard them with: {undo}"
    )


def git_dir(path: Path) -> Path:
    """The repository's git folder (a worktree's own one, too)."""
    return Path(git.run(path, "rev-parse", "--absolute-git-dir").strip())


def read_marker(path: Path) -> dict[str, Any] | None:
    """The record of an update that has not finished cleanly, if any."""
    marker = git_dir(path) / MARKER_FILE
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"state": "running"}
    return data if isinstance(data, dict) else {"state": "running"}


def write_marker(path: Path, record: dict[str, Any]) -> None:
    """Record the update in progress; written whole, so a kill leaves the old or new record."""
    marker = git_dir(path) / MARKER_FILE
    partial = marker.with_suffix(".tmp")
    partial.write_text(json.dumps(record, indent=2), encoding="utf-8")
    partial.replace(marker)


def clear_marker(path: Path) -> None:
    """Forget the update record: the update finished or was undone."""
    (git_dir(path) / MARKER_FILE).unlink(missing_ok=True)


def current_branch(path: Path) -> str | None:
    """The checked-out branch, or None on a detached HEAD."""
    done = git.call(path, "symbolic-ref", "--quiet", "--short", "HEAD")
    return str(done.stdout).strip() or None


def has_branch(path: Path, name: str) -> bool:
    """Whether a local branch NAME exists."""
    return git.succeeds(path, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}")


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
