"""Template releases: PEP 440 git tags `vX.Y.Z`, the same numbers as the package's versions.

Copier and Renovate's copier manager order a template's tags by PEP 440, so every release
tag must parse as a PEP 440 version once the leading `v` is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

TAG_PREFIX = "v"
_NUMBER = r"(?:0|[1-9][0-9]*)"
_RELEASE_TAG = re.compile(rf"^v{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:(?:a|b|rc)[0-9]+)?$")


def parse(ref: str) -> Version | None:
    """The PEP 440 version a tag or `_commit` value names, or None (a branch, a SHA, ...)."""
    try:
        return Version(ref.removeprefix(TAG_PREFIX))
    except InvalidVersion:
        return None


def is_release_tag(tag: str) -> bool:
    """Whether TAG is a template release tag: `vX.Y.Z`, optionally a pre-release `vX.Y.ZrcN`."""
    return bool(_RELEASE_TAG.match(tag)) and parse(tag) is not None


def tag_for(version: str) -> str:
    """The release tag of a package version: `0.2.0` -> `v0.2.0`."""
    return f"{TAG_PREFIX}{version.removeprefix(TAG_PREFIX)}"


def release_tags(tags: Iterable[str], *, prereleases: bool = False) -> list[str]:
    """The release tags among TAGS, oldest first."""
    found = [
        tag
        for tag in tags
        if is_release_tag(tag) and (prereleases or not _version(tag).is_prerelease)
    ]
    return sorted(found, key=_version)


def newer(candidate: str, than: str) -> bool | None:
    """Whether CANDIDATE is a later version than THAN; None when either is no version."""
    a, b = parse(candidate), parse(than)
    if a is None or b is None:
        return None
    return a > b


def same(a: str, b: str) -> bool:
    """Whether two refs name the same version (`v1.0.0` and `1.0.0` do), or are equal."""
    va, vb = parse(a), parse(b)
    return a == b or (va is not None and va == vb)


def _version(tag: str) -> Version:
    version = parse(tag)
    if version is None:  # pragma: no cover - callers filter with is_release_tag
        raise ValueError(tag)
    return version
