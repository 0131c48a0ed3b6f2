"""One local clone of each template source, fetched once per run and shared by every repository.

`copier update` fetches the template named by a repository's `_src_path` several times per
repository. A fleet run instead mirrors each source once into a temporary folder; git's
`url.<mirror>.insteadOf` setting, passed in the environment of the copier runs, sends copier's
fetches of the canonical URL to that mirror. The answers files keep recording the canonical
URL, which is what plain `copier update` and Renovate's copier manager need.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from imgscaffold import git, versions
from imgscaffold.errors import GitError, TemplateSourceError, VersionError

# Copier's shortcuts for hosted repositories (see copier's documentation of `_src_path`).
_ALIASES = (
    (re.compile(r"^gh:/?(.*\.git)$"), r"https://github.com/\1"),
    (re.compile(r"^gh:/?(.*)$"), r"https://github.com/\1.git"),
    (re.compile(r"^gl:/?(.*\.git)$"), r"https://gitlab.com/\1"),
    (re.compile(r"^gl:/?(.*)$"), r"https://gitlab.com/\1.git"),
)
_HOSTED = ("https://github.com/", "https://gitlab.com/")


def git_url(source: str) -> str:
    """What copier hands to git for a `_src_path`: shortcuts expanded, `git+` dropped."""
    for pattern, replacement in _ALIASES:
        source = pattern.sub(replacement, source)
    if source.startswith("git+"):
        return source[len("git+") :]
    if source.startswith(_HOSTED) and not source.endswith(".git"):
        return f"{source}.git"
    return source


def is_local(source: str) -> bool:
    """Whether SOURCE is a folder on this machine rather than a URL."""
    try:
        return Path(source).expanduser().exists()
    except OSError:
        return False


@dataclass(frozen=True)
class TemplateSource:
    """A template source as one run sees it: its mirror and release tags, or why it has none."""

    url: str
    mirror: str | None
    tags: tuple[str, ...] = ()
    error: str | None = None

    def require_mirror(self) -> Path:
        """The mirror, or the reason the source cannot be reached as an error."""
        if self.mirror is None:
            raise TemplateSourceError(self.error or f"template {self.url} was not fetched")
        return Path(self.mirror)

    def latest(self, *, prereleases: bool = False) -> str | None:
        """The newest release tag (pre-releases only when asked for)."""
        found = versions.release_tags(self.tags, prereleases=prereleases)
        return found[-1] if found else None

    def resolve(self, ref: str) -> str:
        """The tag (or other git ref) of the template that REF names; `2.0.0` finds `v2.0.0`."""
        mirror = self.require_mirror()
        for candidate in dict.fromkeys((ref, versions.tag_for(ref))):
            if candidate in self.tags or _has_commit(mirror, candidate):
                return candidate
        known = ", ".join(versions.release_tags(self.tags, prereleases=True)[-5:]) or "none"
        raise VersionError(f"template {self.url} has no version {ref} (latest releases: {known})")

    def questions(self, ref: str) -> list[str] | None:
        """The names of the questions the template asks at REF; None if that cannot be read."""
        mirror = self.require_mirror()
        for name in ("copier.yml", "copier.yaml"):
            shown = git.show(None, ref, name, git_dir=mirror)
            if shown is None:
                continue
            try:
                data = YAML(typ="safe").load(shown)
            except YAMLError:  # e.g. copier's !include: copier itself will judge
                return None
            if isinstance(data, dict):
                return [str(k) for k in data if not str(k).startswith("_")]
        return None

    def contains(self, ancestor: str, descendant: str) -> bool:
        """Whether the template's history leads from ANCESTOR to DESCENDANT."""
        mirror = self.require_mirror()
        return git.succeeds(
            None, "merge-base", "--is-ancestor", ancestor, descendant, git_dir=mirror
        )


@dataclass(frozen=True)
class SharedTemplates:
    """Every template source of one run; picklable, so worker processes get it whole."""

    sources: dict[str, TemplateSource] = field(default_factory=dict)
    workdir: str = ""

    def source(self, url: str) -> TemplateSource:
        """The source as fetched for this run (or an unfetched one that says why)."""
        return self.sources.get(url) or TemplateSource(
            url, None, error=f"template {url} was not fetched for this run"
        )

    def environment(self, copier_cache: Path) -> dict[str, str]:
        """Environment for copier runs: fetches of each source go to its mirror."""
        env = {
            "COPIER_CACHE_DIR": str(copier_cache),
            "GIT_TERMINAL_PROMPT": "0",
        }
        base = int(os.environ.get("GIT_CONFIG_COUNT", "0") or "0")
        redirects = [
            (source.mirror, git_url(url))
            for url, source in sorted(self.sources.items())
            if source.mirror is not None and not is_local(url)
        ]
        for offset, (mirror, url) in enumerate(redirects):
            env[f"GIT_CONFIG_KEY_{base + offset}"] = f"url.{mirror}.insteadOf"
            env[f"GIT_CONFIG_VALUE_{base + offset}"] = url
        if redirects:
            env["GIT_CONFIG_COUNT"] = str(base + len(redirects))
        return env


def fetch_sources(urls: Iterable[str], workdir: Path) -> SharedTemplates:
    """Mirror each distinct source once into WORKDIR; unreachable ones record why."""
    sources: dict[str, TemplateSource] = {}
    for index, url in enumerate(dict.fromkeys(urls)):
        sources[url] = _fetch(url, workdir / f"template-{index}.git")
    return SharedTemplates(sources=sources, workdir=str(workdir))


def _fetch(url: str, mirror: Path) -> TemplateSource:
    origin = str(Path(url).expanduser().absolute()) if is_local(url) else git_url(url)
    try:
        done = git.call(
            None,
            "clone",
            "--quiet",
            "--mirror",
            "--",
            origin,
            str(mirror),
            timeout=git.NETWORK_TIMEOUT_S,
        )
    except GitError as error:
        return TemplateSource(url, None, error=f"cannot reach template {url}: {error}")
    if done.returncode != 0:
        detail = git.last_line(done.stderr).removeprefix("fatal: ")
        return TemplateSource(url, None, error=f"cannot reach template {url}: {detail}")
    try:
        tags = git.run(None, "tag", "--list", git_dir=mirror).split()
    except GitError as error:
        return TemplateSource(url, None, error=f"cannot read template {url}: {error}")
    return TemplateSource(url, str(mirror), tags=tuple(tags))


def export_tree(source: TemplateSource, ref: str, into: Path) -> Path:
    """The template's files at REF as a plain folder (no git), for rendering without fetching."""
    mirror = source.require_mirror()
    try:
        archive = git.call(
            None, "archive", "--format=tar", f"{ref}^{{commit}}", git_dir=mirror, binary=True
        )
    except GitError as error:
        raise TemplateSourceError(
            f"cannot export template {source.url} at {ref}: {error}"
        ) from None
    if archive.returncode != 0:
        raise VersionError(f"template {source.url} has no version {ref}")
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # pragma: no cover - Python < 3.11.4
            tar.extractall(into)  # a git archive of our own mirror
    return into


_process_caches: dict[str, Path] = {}


def process_cache(templates: SharedTemplates) -> Path:
    """This process's own copier cache for the run: copier's mirrors are not safe to share."""
    cache = _process_caches.get(templates.workdir)
    if cache is None or not cache.exists():
        base = Path(templates.workdir) if templates.workdir else None
        cache = Path(tempfile.mkdtemp(prefix="copier-cache-", dir=base))
        _process_caches[templates.workdir] = cache
    return cache


def _has_commit(mirror: Path, ref: str) -> bool:
    return git.succeeds(
        None, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", git_dir=mirror
    )
