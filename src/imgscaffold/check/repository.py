"""A repository as the checks see it: its Dockerfiles, ignore files, CI and scripts."""

from __future__ import annotations

import fnmatch
import functools
import posixpath
import re
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable

from imgscaffold.check.syntax import Dockerfile, parse

__all__ = ["Repository", "is_dockerfile_name", "load_repository"]

#: Folders that hold no Dockerfile of the repository's own.
_SKIP_DIRS = {".git", "node_modules", "vendor", ".venv", "venv", "__pycache__", ".tox", ".hg"}
_MAX_FILES = 20000
_MAX_BYTES = 1 << 20
_NOT_DOCKERFILE_SUFFIXES = (
    ".dockerignore",
    ".md",
    ".jinja",
    ".j2",
    ".tmpl",
    ".template",
    ".orig",
    ".rej",
    ".bak",
    ".swp",
    ".gz",
)

_CI_PATTERNS = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".gitlab-ci.yaml",
    ".gitlab/ci/*.yml",
    "Jenkinsfile",
    "Jenkinsfile.*",
    "*.jenkinsfile",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".drone.yml",
    ".travis.yml",
    ".buildkite/*.yml",
    "cloudbuild.yaml",
    "cloudbuild.yml",
    ".woodpecker.yml",
    ".woodpecker/*.yml",
)
_SCRIPT_DIRS = ("ci/", ".ci/", "scripts/", "script/", "build/", "hack/", "tools/")
_COMPOSE_NAMES = re.compile(r"(^|/)(docker-)?compose(\.[\w-]+)?\.ya?ml$")


def is_dockerfile_name(name: str) -> bool:
    """Whether a file name is one people give Dockerfiles (Dockerfile.prod, app.Dockerfile)."""
    lower = name.lower()
    if lower.endswith(_NOT_DOCKERFILE_SUFFIXES):
        return False
    return (
        lower in {"dockerfile", "containerfile"}
        or lower.startswith(("dockerfile.", "containerfile."))
        or lower.endswith((".dockerfile", ".containerfile"))
    )


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):
                out = out[:-2] + "(?:.*/)?"
                i += 1
            continue
        char = pattern[i]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.find("]", i)
            if end == -1:
                out += re.escape(char)
            else:
                out += pattern[i : end + 1].replace("\\", "\\\\")
                i = end
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + "$")


@dataclass(frozen=True)
class IgnoreFile:
    """A .dockerignore: its path and its patterns in order."""

    path: str
    patterns: tuple[tuple[bool, re.Pattern[str], int], ...]

    def excludes(self, relative: str) -> bool:
        """Whether the path (relative to the build context) stays out of the context."""
        parts = relative.strip("/").split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for negated, regex, _line in self.patterns:
            if any(regex.match(candidate) for candidate in candidates):
                excluded = not negated
        return excluded


def _read_ignore(path: str, text: str) -> IgnoreFile:
    patterns: list[tuple[bool, re.Pattern[str], int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line.lstrip("!").strip().lstrip("/")
        line = re.sub(r"/+", "/", line).rstrip("/")
        if line.startswith("./"):
            line = line[2:]
        if line:
            patterns.append((negated, _pattern_regex(line), number))
    return IgnoreFile(path, tuple(patterns))


@dataclass
class Repository:
    """The files of one repository, read on demand and cached."""

    root: Traversable
    name: str
    files: list[str]
    _texts: dict[str, str | None] = field(default_factory=dict, repr=False)

    def read(self, relative: str) -> str | None:
        """A file's text (undecodable bytes replaced), or None if it cannot be read."""
        if relative not in self._texts:
            node = self.root
            try:
                for part in relative.split("/"):
                    node = node / part
                data = node.read_bytes()[:_MAX_BYTES]
                self._texts[relative] = data.decode("utf-8", errors="replace")
            except (OSError, ValueError):
                self._texts[relative] = None
        return self._texts[relative]

    def exists(self, relative: str) -> bool:
        return relative in self._file_set

    @functools.cached_property
    def _file_set(self) -> frozenset[str]:
        return frozenset(self.files)

    @functools.cached_property
    def dockerfiles(self) -> list[Dockerfile]:
        """Every Dockerfile in the repository, parsed, in path order."""
        found = []
        for relative in self.files:
            if is_dockerfile_name(relative.rsplit("/", 1)[-1]):
                found.append(parse(self.read(relative) or "", relative))
        return found

    def context_dir(self, dockerfile: Dockerfile) -> str:
        """The build context assumed for a Dockerfile: the repository root.

        Most repositories build from the root with `-f path/Dockerfile`; a Dockerfile in a
        folder of its own with its own .dockerignore builds from that folder.
        """
        folder = dockerfile.path.rpartition("/")[0]
        if folder and self.exists(f"{folder}/.dockerignore"):
            return folder
        return ""

    def dockerignore(self, dockerfile: Dockerfile) -> IgnoreFile | None:
        """The ignore file BuildKit uses for this Dockerfile, if any."""
        for candidate in (
            f"{dockerfile.path}.dockerignore",
            _join(self.context_dir(dockerfile), ".dockerignore"),
        ):
            if self.exists(candidate):
                return _read_ignore(candidate, self.read(candidate) or "")
        return None

    def in_context(self, dockerfile: Dockerfile, relative: str) -> str | None:
        """A repository path for a path relative to the Dockerfile's build context."""
        full = posixpath.normpath(_join(self.context_dir(dockerfile), relative.lstrip("/")))
        return full if self.exists(full) else None

    @functools.cached_property
    def ci_files(self) -> list[str]:
        """CI configuration files of any provider."""
        return [f for f in self.files if any(fnmatch.fnmatchcase(f, p) for p in _CI_PATTERNS)]

    @functools.cached_property
    def scripts(self) -> list[str]:
        """Build and release scripts next to the CI configuration."""
        return [
            f
            for f in self.files
            if (f.startswith(_SCRIPT_DIRS) and f.endswith((".sh", ".bash", ".py", ".ps1")))
            or f in {"Makefile", "Taskfile.yml", "justfile", "build.sh", "release.sh"}
        ]

    @functools.cached_property
    def compose_files(self) -> list[str]:
        return [f for f in self.files if _COMPOSE_NAMES.search(f)]


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _walk(root: Traversable) -> list[str]:
    files: list[str] = []
    pending: list[tuple[Traversable, str]] = [(root, "")]
    while pending and len(files) < _MAX_FILES:
        node, prefix = pending.pop()
        try:
            children = sorted(node.iterdir(), key=lambda child: child.name)
        except (OSError, ValueError):
            continue
        for child in children:
            relative = f"{prefix}{child.name}"
            try:
                if child.is_dir():
                    if child.name not in _SKIP_DIRS:
                        pending.append((child, relative + "/"))
                elif child.is_file():
                    files.append(relative)
            except OSError:
                continue
    return sorted(files)


def load_repository(root: Traversable, name: str | None = None) -> Repository:
    """Index the files of a repository (a folder, or any Traversable such as repo-review's)."""
    return Repository(root=root, name=name or root.name or ".", files=_walk(root))
