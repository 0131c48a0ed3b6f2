"""Bring generated repositories to a newer template version without losing local changes.

Copier's three-way update does the merge. Around it this module checks that an update can
run safely (a clean tree makes `git reset --hard && git clean -fd` a complete undo), records
the update in the repository's git folder while it runs, treats every conflict as a failure
that is reported and never committed, keeps local edits to files the template has moved or
removed (copier deletes them), and commits a clean result on a branch when asked.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from imgscaffold import generated, git, rendering, versions
from imgscaffold.errors import (
    AnswerError,
    BranchExistsError,
    ImgscaffoldError,
    RepositoryError,
    UsageError,
    VersionError,
)
from imgscaffold.fleet import runner
from imgscaffold.fleet.mirror import (
    SharedTemplates,
    TemplateSource,
    process_cache,
)
from imgscaffold.fleet.status import render_as_recorded
from imgscaffold.generated import FileChange, GeneratedRepository

#: The branch `--commit` uses; `{version}` becomes the template version updated to.
DEFAULT_BRANCH = "imgscaffold/template-{version}"
_MARKERS = (b"<<<<<<< ", b">>>>>>> ")
_MARKER_SCAN_LIMIT = 5_000_000


class Outcome(StrEnum):
    """What an update did to one repository."""

    UPDATED = "updated"
    CURRENT = "current"
    CONFLICT = "conflict"
    FAILED = "failed"


@dataclass(frozen=True)
class UpdateOptions:
    """How to update: to which version, with which answer changes, committed or not."""

    vcs_ref: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    commit: bool = False
    branch: str | None = None
    prereleases: bool = False

    @property
    def committing(self) -> bool:
        """Whether a clean result is committed on a branch."""
        return self.commit or self.branch is not None

    def branch_for(self, version: str) -> str:
        """The branch that takes the update to VERSION."""
        return (self.branch or DEFAULT_BRANCH).replace("{version}", version)


@dataclass(frozen=True)
class Conflict:
    """A file the update could not settle on its own, and why."""

    path: str
    reason: str
    markers: bool = False  # the file holds conflict markers to resolve


@dataclass(frozen=True)
class UpdateResult:
    """What happened in one repository; picklable, so worker processes can return it."""

    path: str
    outcome: Outcome
    from_version: str | None = None
    to_version: str | None = None
    changed: tuple[FileChange, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    branch: str | None = None
    commit: str | None = None
    problem: str | None = None
    message: str = ""
    recovery: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the repository is on the wanted version with nothing left to do."""
        return self.outcome in (Outcome.UPDATED, Outcome.CURRENT)

    def as_json(self) -> dict[str, Any]:
        """The result as plain JSON data."""
        return {
            "path": self.path,
            "outcome": str(self.outcome),
            "from": self.from_version,
            "to": self.to_version,
            "changed": [{"path": c.path, "change": c.kind} for c in self.changed],
            "conflicts": [
                {"path": c.path, "reason": c.reason, "markers": c.markers} for c in self.conflicts
            ],
            "branch": self.branch,
            "commit": self.commit,
            "problem": self.problem,
            "message": self.message,
            "recovery": list(self.recovery),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class UpdateReport:
    """Every repository's result, in the order they were given."""

    results: list[UpdateResult]
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Whether every repository is updated or already current."""
        return not self.interrupted and all(r.ok for r in self.results)

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON data, for machines."""
        return runner.report_json("update", [r.as_json() for r in self.results], self.interrupted)


def update_repositories(
    paths: Sequence[Path],
    options: UpdateOptions,
    *,
    jobs: int | None = None,
    on_done: Callable[[UpdateResult], None] | None = None,
) -> UpdateReport:
    """Update every repository in PATHS, JOBS at a time; one's failure never stops the others."""
    check_branch_name(options)
    task = partial(update_repository, options=options)
    results, interrupted = runner.run_with_templates(
        task, paths, purpose="update", jobs=jobs, crashed=_crashed, on_done=on_done
    )
    return UpdateReport(results, interrupted)


def check_branch_name(options: UpdateOptions) -> None:
    """Refuse a --branch that git would refuse, before touching any repository."""
    if not options.committing:
        return
    name = options.branch_for("v1.0.0")
    if not git.is_branch_name(name):
        raise UsageError(f"--branch {options.branch!r} is not a valid git branch name")


def update_repository(
    path: str, *, options: UpdateOptions, templates: SharedTemplates
) -> UpdateResult:
    """Update the repository at PATH; every problem becomes a result, never an exception."""
    started = time.perf_counter()
    where = Path(path)
    version: str | None = None
    target: str | None = None
    try:
        repo = GeneratedRepository.open(where)
        version = repo.version
        generated.check_clean(where)
        source = templates.source(repo.source)
        source.require_mirror()
        target = _target(source, options)
        _check_questions(source, target, options.data)
        if not versions.same(target, repo.version) and _ahead(
            source, repo.version, target, explicit=options.vcs_ref
        ):
            # On a pre-release or unreleased version: nothing newer to go to.
            latest, target = target, repo.version
            if not options.data:
                message = f"on template {target}, newer than the latest release {latest}"
                return _timed(_current(path, target, target, message), started)
        if versions.same(target, repo.version) and not options.data:
            return _timed(_current(path, repo.version, target), started)
        branch = options.branch_for(target) if options.committing else None
        if branch is not None and generated.has_branch(where, branch):
            raise BranchExistsError(
                f"branch {branch} exists in {path}; delete it or pass another --branch"
            )
        result = _apply(path, repo, templates, source, target, branch, options)
    except ImgscaffoldError as error:
        result = _failure(path, error, version, target)
    except Exception as error:  # a bug or an environment problem: report it, go on
        detail = " ".join(str(error).split()) or type(error).__name__
        failure = RepositoryError(f"unexpected {type(error).__name__} in {path}: {detail}")
        result = _failure(path, failure, version, target)
    return _timed(result, started)


def _target(source: TemplateSource, options: UpdateOptions) -> str:
    if options.vcs_ref:
        return source.resolve(options.vcs_ref)
    latest = source.latest(prereleases=options.prereleases)
    if latest is None:
        raise VersionError(
            f"template {source.url} has no release tags (vX.Y.Z); pass --vcs-ref to pick a version"
        )
    return latest


def _check_questions(source: TemplateSource, target: str, data: dict[str, Any]) -> None:
    asked = source.questions(target) if data else None
    unknown = sorted(set(data) - set(asked)) if asked is not None else []
    if asked is not None and unknown:
        raise AnswerError(
            f"unknown question(s) for template {target}: {', '.join(unknown)}; "
            f"it asks {', '.join(asked)}"
        )


def _ahead(source: TemplateSource, current: str, target: str, *, explicit: str | None) -> bool:
    """Whether the repository is on a later version than TARGET (asked for: an error)."""
    newer = versions.newer(current, target)
    if newer is None:
        newer = source.contains(target, current) and not source.contains(current, target)
    if newer and explicit:
        raise VersionError(
            f"the repository is on template {current}, newer than the requested {target}; "
            "updates never go back"
        )
    return newer


def _apply(
    path: str,
    repo: GeneratedRepository,
    templates: SharedTemplates,
    source: TemplateSource,
    target: str,
    branch: str | None,
    options: UpdateOptions,
) -> UpdateResult:
    where = repo.path
    record: dict[str, Any] = {
        "state": "running",
        "from": repo.version,
        "to": target,
        "head": git.head(where),
        "original_branch": generated.current_branch(where),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    generated.write_marker(where, record)
    try:
        _run_copier(where, target, options.data, source, templates)
    except ImgscaffoldError:
        if not generated.changes(where):
            generated.clear_marker(where)
        raise
    rendering.record_source(where / rendering.ANSWERS_FILE, repo.source)
    conflicts = _marked_conflicts(where, generated.changes(where))
    conflicts += _kept_local_edits(repo, source, target, generated.changes(where))
    changed = tuple(generated.changes(where))
    if conflicts:
        generated.write_marker(where, {**record, "state": "conflicts"})
        return UpdateResult(
            path,
            Outcome.CONFLICT,
            repo.version,
            target,
            changed=changed,
            conflicts=tuple(conflicts),
            problem="conflict",
            message=(
                f"{len(conflicts)} conflict(s) in the update to {target}; nothing was "
                "committed: resolve them and commit, or discard the update"
            ),
            recovery=tuple(generated.recovery_commands(where)),
        )
    if not changed:
        generated.clear_marker(where)
        return _current(path, repo.version, target)
    commit = None
    if branch is not None:
        generated.write_marker(where, {**record, "state": "committing", "branch": branch})
        commit = _commit(repo, branch, repo.version, target, changed)
    generated.clear_marker(where)
    return UpdateResult(
        path,
        Outcome.UPDATED,
        repo.version,
        target,
        changed=changed,
        branch=branch,
        commit=commit,
        message=f"updated from template {repo.version} to {target}",
    )


def _run_copier(
    where: Path,
    target: str,
    data: dict[str, Any],
    source: TemplateSource,
    templates: SharedTemplates,
) -> None:
    action = rendering.Action(
        doing=f"update {where} with copier",
        template=f"{source.url} at {target}",
        verb="updates",
        failure=RepositoryError,
        bad_answers=RepositoryError,
        answers_context=f"cannot update {where}: ",
    )
    env = templates.environment(process_cache(templates))
    rendering.update(where, action=action, data=data, vcs_ref=target, env=env)


def _marked_conflicts(where: Path, changed: list[FileChange]) -> list[Conflict]:
    found: dict[str, Conflict] = {}
    same_lines = "both the template and this repository changed the same lines"
    for name in generated.unmerged(where):
        found[name] = Conflict(name, same_lines, markers=True)
    for change in changed:
        if change.path.endswith(".rej") and not change.tracked:
            name = change.path.removesuffix(".rej")
            reason = f"the template's change could not be applied; see {change.path}"
            found.setdefault(name, Conflict(name, reason))
        elif change.kind != "deleted" and _has_markers(where / change.path):
            found.setdefault(change.path, Conflict(change.path, same_lines, markers=True))
    return [found[name] for name in sorted(found)]


def _has_markers(path: Path) -> bool:
    try:
        if not path.is_file() or path.stat().st_size > _MARKER_SCAN_LIMIT:
            return False
        lines = path.read_bytes().splitlines()
    except OSError:
        return False
    return all(any(line.startswith(m) for line in lines) for m in _MARKERS) and b"=======" in lines


def _kept_local_edits(
    repo: GeneratedRepository, source: TemplateSource, target: str, changed: list[FileChange]
) -> list[Conflict]:
    """Copier deletes a file the template moved or removed even if it was edited here.

    Put such files back and call them conflicts: someone has to carry the edits over.
    """
    deleted = [c.path for c in changed if c.kind == "deleted" and c.tracked]
    if not deleted:
        return []
    kept: list[Conflict] = []
    with tempfile.TemporaryDirectory(prefix="imgscaffold-old-") as tmp:
        rendered = render_as_recorded(repo, source, Path(tmp), only=deleted)
        for name in deleted:
            before = git.show(repo.path, "HEAD", name)
            template_file = rendered / name
            as_rendered = template_file.read_bytes() if template_file.is_file() else None
            if before is None or before == as_rendered:
                continue
            git.run(repo.path, "checkout", "HEAD", "--", name)
            kept.append(
                Conflict(
                    name,
                    f"the template has no {name} at {target} (moved or removed) but it had local "
                    "changes, so it was kept: carry them over, then delete it",
                )
            )
    return kept


def _commit(
    repo: GeneratedRepository,
    branch: str,
    before: str,
    after: str,
    changed: tuple[FileChange, ...],
) -> str:
    where = repo.path
    git.run(where, "switch", "--quiet", "--create", branch)
    git.run(where, "add", "--all")
    identity = None
    if not git.has_identity(where):
        identity = (
            str(repo.answers.get("maintainer_name") or "imgscaffold"),
            str(repo.answers.get("maintainer_email") or "imgscaffold@localhost"),
        )
    files = "\n".join(f"- {c.kind} {c.path}" for c in changed)
    message = (
        f"Update to image template {after} (from {before})\n\n"
        f"`imgscaffold update` applied the template's changes from {before} to {after}; "
        f"no conflicts.\nSee the template's CHANGELOG for what {after} changes.\n\n{files}\n"
    )
    git.run(where, "commit", "--quiet", "--no-verify", "-m", message, identity=identity)
    return git.head(where)


def _failure(
    path: str, error: ImgscaffoldError, version: str | None, target: str | None
) -> UpdateResult:
    recovery: tuple[str, ...] = ()
    where = Path(path)
    try:
        marker = generated.read_marker(where) if where.is_dir() else None
    except ImgscaffoldError:
        marker = None
    if marker is not None:
        recovery = tuple(generated.recovery_commands(where, marker))
    return UpdateResult(
        path,
        Outcome.FAILED,
        version,
        target,
        problem=error.kind,
        message=str(error),
        recovery=recovery,
    )


def _current(path: str, version: str, target: str, message: str = "") -> UpdateResult:
    return UpdateResult(
        path, Outcome.CURRENT, version, target, message=message or f"already on template {target}"
    )


def _crashed(path: str, why: str) -> UpdateResult:
    where = Path(path)
    return UpdateResult(
        path,
        Outcome.FAILED,
        problem="crashed",
        message=f"the update of {path} stopped: {why}",
        recovery=tuple(generated.recovery_commands(where)),
    )


def _timed(result: UpdateResult, started: float) -> UpdateResult:
    return replace(result, seconds=time.perf_counter() - started)
