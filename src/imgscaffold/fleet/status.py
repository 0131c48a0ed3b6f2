"""Where each generated repository stands: its template version, and its hand-made drift.

Drift is measured against what the repository's own answers render at its recorded
version: a template-owned file that differs (or is gone) was changed by hand. Files the
template does not render (the service's own code) are not drift.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from imgscaffold import gates, generated, rendering, versions
from imgscaffold.errors import AnswerError, ImgscaffoldError, RepositoryError, TemplateSourceError
from imgscaffold.fleet import runner
from imgscaffold.fleet.mirror import SharedTemplates, TemplateSource, export_tree
from imgscaffold.generated import FileChange, GeneratedRepository

#: What `--fail-on` can name; errors (a repository that cannot be checked) always fail.
GATES = ("behind", "drift", "dirty")
_GLOB_SPECIAL = re.compile(r"[*?\[\]\\!#]")


def parse_gates(fail_on: str, *, drift: bool = True) -> frozenset[str]:
    """The GATES a `--fail-on` list names; drift is no gate when drift is not checked."""
    named = gates.parse(fail_on, GATES)
    return named if drift else named - {"drift"}


@dataclass(frozen=True)
class RepositoryStatus:
    """One repository's template version and drift; picklable for worker processes."""

    path: str
    state: str  # "current", "behind", "ahead", "unknown" or "error"
    version: str | None = None
    latest: str | None = None
    releases_behind: int | None = None
    drift: tuple[FileChange, ...] | None = None  # None: not checked
    dirty: bool = False
    problem: str | None = None
    message: str = ""
    seconds: float = 0.0

    def fails(self, gates: Collection[str]) -> bool:
        """Whether this repository fails a CI gate on GATES."""
        return (
            self.state == "error"
            or ("behind" in gates and self.state == "behind")
            or ("drift" in gates and bool(self.drift))
            or ("dirty" in gates and self.dirty)
        )

    def as_json(self) -> dict[str, Any]:
        """The status as plain JSON data."""
        return {
            "path": self.path,
            "state": self.state,
            "version": self.version,
            "latest": self.latest,
            "releases_behind": self.releases_behind,
            "drift": None
            if self.drift is None
            else [{"path": c.path, "change": c.kind} for c in self.drift],
            "dirty": self.dirty,
            "problem": self.problem,
            "message": self.message,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class StatusReport:
    """Every repository's status, in the order they were given."""

    results: list[RepositoryStatus]
    interrupted: bool = False

    def failing(self, gates: Collection[str]) -> list[RepositoryStatus]:
        """The repositories that fail a CI gate on GATES."""
        return [r for r in self.results if r.fails(gates)]

    def as_json(self, gates: Collection[str] = ()) -> dict[str, Any]:
        """The report as plain JSON data, for machines."""
        data = runner.report_json("status", [r.as_json() for r in self.results], self.interrupted)
        data["fail_on"] = sorted(gates)
        data["failing"] = [r.path for r in self.failing(gates)]
        return data


def statuses(
    paths: Sequence[Path],
    *,
    drift: bool = True,
    prereleases: bool = False,
    jobs: int | None = None,
    on_done: Callable[[RepositoryStatus], None] | None = None,
) -> StatusReport:
    """The status of every repository in PATHS, JOBS at a time."""
    task = partial(repository_status, drift=drift, prereleases=prereleases)
    results, interrupted = runner.run_with_templates(
        task, paths, purpose="status", jobs=jobs, crashed=_crashed, on_done=on_done
    )
    return StatusReport(results, interrupted)


def repository_status(
    path: str, *, templates: SharedTemplates, drift: bool = True, prereleases: bool = False
) -> RepositoryStatus:
    """The status of the repository at PATH; every problem becomes a status, never an exception."""
    started = time.perf_counter()
    version: str | None = None
    try:
        repo = GeneratedRepository.open(Path(path))
        version = repo.version
        source = templates.source(repo.source)
        source.require_mirror()
        latest = source.latest(prereleases=prereleases)
        state = _position(source, repo.version, latest)
        behind = _releases_behind(source, repo.version, prereleases) if state == "behind" else 0
        pending = generated.changes(repo.path)
        note = _pending_update(repo.path)
        found: tuple[FileChange, ...] | None = None
        if drift:
            with tempfile.TemporaryDirectory(prefix="imgscaffold-drift-") as tmp:
                rendered = render_as_recorded(repo, source, Path(tmp))
                found = tuple(drift_between(rendered, repo.path))
        result = RepositoryStatus(
            path,
            state,
            version=repo.version,
            latest=latest,
            releases_behind=behind,
            drift=found,
            dirty=bool(pending),
            message=note,
        )
    except ImgscaffoldError as error:
        result = RepositoryStatus(
            path, "error", version=version, problem=error.kind, message=str(error)
        )
    except Exception as error:  # a bug or an environment problem: report it, go on
        detail = " ".join(str(error).split()) or type(error).__name__
        result = RepositoryStatus(
            path,
            "error",
            version=version,
            problem="error",
            message=f"unexpected {type(error).__name__} in {path}: {detail}",
        )
    return replace(result, seconds=time.perf_counter() - started)


def _position(source: TemplateSource, version: str, latest: str | None) -> str:
    if latest is None:
        return "unknown"
    if versions.same(version, latest):
        return "current"
    newer = versions.newer(latest, version)
    if newer is not None:
        return "behind" if newer else "ahead"
    if source.contains(version, latest):
        return "current" if source.contains(latest, version) else "behind"
    if source.contains(latest, version):
        return "ahead"
    return "unknown"


def _releases_behind(source: TemplateSource, version: str, prereleases: bool) -> int | None:
    if versions.parse(version) is None:
        return None
    tags = versions.release_tags(source.tags, prereleases=prereleases)
    return sum(1 for tag in tags if versions.newer(tag, version))


def _pending_update(path: Path) -> str:
    marker = generated.read_marker(path)
    if marker is None or not generated.changes(path):
        return ""
    if marker.get("state") == "conflicts":
        return f"the update to {marker.get('to')} has unresolved conflicts"
    return (
        f"an update to {marker.get('to')} was interrupted; `imgscaffold update` says how to recover"
    )


def render_as_recorded(
    repo: GeneratedRepository,
    source: TemplateSource,
    into: Path,
    only: Collection[str] | None = None,
) -> Path:
    """Render the repository's answers at its recorded template version into INTO.

    With ONLY, just those paths are rendered (the questions are still all answered).
    """
    template = export_tree(source, repo.version, into / "template")
    rendered = into / "render" / repo.path.resolve().name
    answers_file = repo.path / rendering.ANSWERS_FILE
    action = rendering.Action(
        doing=f"render template {source.url} at {repo.version} with the answers in {answers_file}",
        template=f"{source.url} at {repo.version}",
        verb="renders",
        failure=TemplateSourceError,
        bad_answers=AnswerError,
    )
    rendering.copy(
        str(template),
        rendered,
        action=action,
        data=repo.questions_answers(),
        exclude=_all_but(only) if only is not None else (),
    )
    if not rendered.is_dir():
        raise RepositoryError(f"rendering {source.url} at {repo.version} produced nothing")
    return rendered


def _all_but(paths: Collection[str]) -> list[str]:
    """Copier exclude patterns (gitignore style) that leave only PATHS to render."""
    return ["*", *("!/" + _GLOB_SPECIAL.sub(r"\\\g<0>", path) for path in paths)]


def drift_between(rendered: Path, repo: Path) -> list[FileChange]:
    """Template files that differ in REPO from a fresh render (content or executable bit)."""
    found: list[FileChange] = []
    for file in sorted(rendered.rglob("*")):
        if file.is_dir():
            continue
        name = file.relative_to(rendered).as_posix()
        mine = repo / name
        if not mine.is_file():
            found.append(FileChange(name, "deleted"))
            continue
        expected, actual = file.read_bytes(), mine.read_bytes()
        if name == rendering.ANSWERS_FILE:
            expected, actual = rendering.without_source(expected), rendering.without_source(actual)
        if expected != actual or _executable(file) != _executable(mine):
            found.append(FileChange(name, "modified"))
    return found


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o100)


def _crashed(path: str, why: str) -> RepositoryStatus:
    return RepositoryStatus(
        path, "error", problem="crashed", message=f"checking {path} stopped: {why}"
    )
