"""Template releases are PEP 440 tags `vX.Y.Z` shared with the package version.

`imgscaffold new` renders the template embedded in the package but records the release tag
`v<package version>` as the repository's template version. Updates take that tag as the
common base of their three-way merge, so the embedded template must be exactly what the
tag renders.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import copier
import pytest

from imgscaffold import __version__, versions
from imgscaffold.answers import AnswerLayers
from imgscaffold.create import create_repository
from imgscaffold.fleet.mirror import fetch_sources
from imgscaffold.fleet.status import repository_status
from imgscaffold.template import embedded_template, release_ref
from tests.helpers import REPO_ROOT, git, tree

ANSWERS = {"service_name": "orders", "registry": "localhost:5000", "service_port": 9090}


def test_the_release_tag_is_the_package_version() -> None:
    assert release_ref() == f"v{__version__}"
    assert versions.is_release_tag(release_ref())


def test_release_tags_are_ordered_by_pep440() -> None:
    tags = ["v1.10.0", "v1.9.0", "v2.0.0rc1", "latest", "v1.2", "1.0.0", "v1.0.0-3-gabc1234"]
    assert versions.release_tags(tags) == ["v1.9.0", "v1.10.0"]
    assert versions.release_tags(tags, prereleases=True) == ["v1.9.0", "v1.10.0", "v2.0.0rc1"]


def test_versions_compare_by_pep440() -> None:
    assert versions.newer("v1.10.0", "v1.9.0") is True
    assert versions.newer("v1.0.0", "v1.0.0") is False
    assert versions.newer("main", "v1.0.0") is None
    assert versions.same("v2.0.0", "2.0.0")
    assert versions.parse("v1.0.0-3-gabc1234") is None


def test_the_changelog_says_what_this_version_changes() -> None:
    text = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\S+)", text, flags=re.MULTILINE)
    assert headings, "CHANGELOG.md has no '## vX.Y.Z' sections"
    assert headings[0] == release_ref(), "the newest CHANGELOG section is not this version"
    assert all(versions.is_release_tag(h) for h in headings), headings
    parsed = [v for h in headings if (v := versions.parse(h)) is not None]
    assert parsed == sorted(parsed, reverse=True), "CHANGELOG sections are not newest first"
    section = text.split(f"## {release_ref()}", 1)[1].split("\n## ", 1)[0]
    assert "Generated repositories" in section


def _snapshot(into: Path) -> Path:
    """The embedded template's files committed and tagged as this version's release."""
    into.mkdir(parents=True)
    root = embedded_template()
    shutil.copy2(root / "copier.yml", into / "copier.yml")
    shutil.copytree(root / "template", into / "template")
    git(into, "init", "--quiet", "--initial-branch=main")
    git(into, "add", "--all")
    git(into, "commit", "--quiet", "--no-verify", "-m", f"Release {release_ref()}")
    git(into, "tag", release_ref())
    return into


def test_new_renders_exactly_what_the_release_tag_renders(tmp_path: Path) -> None:
    url = f"file://{_snapshot(tmp_path / 'template.git')}"
    created = create_repository(
        tmp_path / "new" / "orders", layers=AnswerLayers(cli=ANSWERS), canonical=url
    )
    tagged = tmp_path / "tag" / "orders"
    copier.run_copy(url, tagged, data=ANSWERS, defaults=True, vcs_ref=release_ref(), quiet=True)
    # The answers files too: the same template source, the same version.
    assert tree(created.path) == tree(tagged)

    # So a new repository is on the latest release with nothing changed by hand.
    templates = fetch_sources([url], tmp_path / "work")
    status = repository_status(str(created.path), templates=templates)
    assert (status.state, status.version, status.drift) == ("current", release_ref(), ())


def test_the_release_tag_of_this_checkout_matches_the_embedded_template(tmp_path: Path) -> None:
    """A release gate: once `v<version>` is tagged, changing the template needs a new version."""
    tags = subprocess.run(
        ["git", "tag", "--list", release_ref()], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.split()
    if release_ref() not in tags:
        pytest.skip(f"{release_ref()} is not tagged in this checkout yet (it is at release)")
    created = create_repository(
        tmp_path / "new" / "orders", layers=AnswerLayers(cli=ANSWERS), canonical=str(REPO_ROOT)
    )
    tagged = tmp_path / "tag" / "orders"
    copier.run_copy(
        str(REPO_ROOT), tagged, data=ANSWERS, defaults=True, vcs_ref=release_ref(), quiet=True
    )
    assert tree(created.path) == tree(tagged), (
        f"the template changed since {release_ref()}: bump the version and the CHANGELOG"
    )
