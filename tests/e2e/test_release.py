"""Pushing and releasing against the test bed's registry, as the provider's CI would.

Each scenario works in its own clone of the rendered repository and pushes to its own
image repository, so the registry's tag list can be asserted exactly. Release jobs run
on a fresh checkout of the tag: build/ is removed before `ci/release.sh`.
"""

from __future__ import annotations

import itertools
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.pipeline import Pipeline, ScriptRun
from tests.e2e.providers import CiEvent, branch_build, pull_request_build, release_build
from tests.e2e.testbed.bed import Testbed
from tests.e2e.variants import git

pytestmark = pytest.mark.engine

_timestamps = itertools.count(int(time.time()))


@dataclass(frozen=True)
class Shipped:
    """A commit that CI built, (optionally) tested and pushed."""

    commit: str
    unique_tag: str
    digest: str

    @property
    def pointer_tag(self) -> str:
        return f"sha-{self.commit}"


def scenario(pipeline: Pipeline, bed: Testbed, tmp_path: Path, name: str) -> Pipeline:
    """A clone pushing to an image repository of its own."""
    return pipeline.clone(
        tmp_path / name, image_name=f"{bed.registry.host}/e2e/{pipeline.variant.id}-{name}"
    )


def ship(p: Pipeline, event: CiEvent, *, new_commit: bool = True, tested: bool = False) -> Shipped:
    """CI for one commit: build, test if asked, push. Returns what the registry got.

    ci/test.sh runs where the CI path itself is the point (row 4); the tag policy does not
    depend on it, and skipping it keeps the release history fast.
    """
    if new_commit:
        p.commit(f"Change {next(_timestamps)}")
    build = p.build(event, timestamp=next(_timestamps))
    if tested:
        p.must("ci/test.sh", event)
    p.must("ci/push.sh", event)
    unique_tag = build.image_env["UNIQUE_TAG"]
    digest = p.bed.registry.digest(p.repository_path, unique_tag)
    repo_digests = p.bed.engine.inspect(build.image).get("RepoDigests") or []
    assert f"{p.effective_image_name}@{digest}" in repo_digests, (
        "the registry holds another digest than was pushed"
    )
    return Shipped(commit=build.commit, unique_tag=unique_tag, digest=digest)


def release(p: Pipeline, tag: str, *, at: str | None = None, force: bool = False) -> ScriptRun:
    """Tag the commit (HEAD or `at`) and run the release job on a fresh checkout of it."""
    if at is not None:
        git(p.repo, "checkout", "-q", "--detach", at)
    git(p.repo, "tag", *(["-f"] if force else []), "-a", tag, "-m", f"Release {tag}")
    shutil.rmtree(p.repo / "build", ignore_errors=True)
    return p.run("ci/release.sh", release_build(tag))


def built_anything(run_: ScriptRun) -> bool:
    return bool(run_.build_calls())


def pushed_tags(*shipped: Shipped) -> dict[str, str]:
    """The per-build tags CI pushes: the unique tag and the commit pointer."""
    tags: dict[str, str] = {}
    for s in shipped:
        tags[s.unique_tag] = s.digest
        tags[s.pointer_tag] = s.digest
    return tags


# ------------------------------------------------------------------------------- row 6


@pytest.mark.every_provider
def test_row6_branch_build_pushes_its_unique_tag_and_commit_pointer(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    p = scenario(pipeline, bed, tmp_path, "push")
    shipped = ship(p, branch_build("main"), new_commit=False)
    assert shipped.unique_tag.startswith(f"main-{shipped.commit[:7]}-")
    assert bed.registry.tag_digests(p.repository_path) == pushed_tags(shipped)
    assert bed.registry.attached(p.repository_path) == {shipped.digest: {"att"}}, (
        "a pushed build carries its SBOM attestation and no signature yet"
    )


@pytest.mark.every_provider
def test_row6_pull_request_build_pushes_a_pr_tag(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    p = scenario(pipeline, bed, tmp_path, "pr")
    git(p.repo, "checkout", "-q", "-b", "feature/notes")
    shipped = ship(p, pull_request_build(42, head_branch="feature/notes"))
    assert shipped.unique_tag.startswith(f"pr-42-{shipped.commit[:7]}-"), shipped.unique_tag
    assert bed.registry.tag_digests(p.repository_path) == pushed_tags(shipped)


# ------------------------------------------------------------------------------- row 4


@pytest.mark.every_provider
def test_row4_release_retags_the_tested_digest_without_building(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    p = scenario(pipeline, bed, tmp_path, "release")
    shipped = ship(p, branch_build("main"), new_commit=False, tested=True)
    images_before = bed.engine.image_ids(p.effective_image_name)
    result = release(p, "v1.0.0")
    assert result.returncode == 0, result.report()
    assert not built_anything(result), f"ci/release.sh ran a build: {result.docker_calls}"
    assert bed.engine.image_ids(p.effective_image_name) == images_before, (
        "ci/release.sh created images"
    )
    expected = {
        **pushed_tags(shipped),
        **dict.fromkeys(["1.0.0", "1.0", "1", "latest"], shipped.digest),
    }
    assert bed.registry.tag_digests(p.repository_path) == expected
    assert bed.registry.attached(p.repository_path) == {shipped.digest: {"att", "sig"}}, (
        "the release signs the digest it re-tags"
    )


@pytest.mark.every_provider
def test_row4_releasing_a_commit_without_a_tested_image_fails(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    p = scenario(pipeline, bed, tmp_path, "untested")
    shipped = ship(p, branch_build("main"), new_commit=False)
    p.commit("Never built by CI")
    result = release(p, "v1.0.0")
    assert result.returncode != 0, result.report()
    assert p.head() in result.output or p.head()[:7] in result.output, (
        "the error should name the commit: " + result.report()
    )
    assert not built_anything(result)
    assert bed.registry.tag_digests(p.repository_path) == pushed_tags(shipped)
    assert "sig" not in bed.registry.attached(p.repository_path).get(shipped.digest, set())


# ------------------------------------------------------------------------------ rows 6, 7

HISTORY: list[tuple[str, tuple[str, ...]]] = [
    # (git tag, the image tags that release sets or moves to its build; all others stay)
    ("v1.0.0", ("1.0.0", "1.0", "1", "latest")),
    ("v1.1.0", ("1.1.0", "1.1", "1", "latest")),
    ("v2.0.0-rc.1", ("2.0.0-rc.1",)),  # a prerelease moves nothing else
    ("v1.1.1", ("1.1.1", "1.1", "1", "latest")),
    ("v2.0.0", ("2.0.0", "2.0", "2", "latest")),
    ("v1.2.0", ("1.2.0", "1.2", "1")),  # not the highest stable: latest stays on 2.0.0
    ("v1.1.2", ("1.1.2", "1.1")),  # a backport behind 1.2.0: 1 stays too
]


def test_row7_release_history_moves_latest_and_floating_tags_only_forward(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    p = scenario(pipeline, bed, tmp_path, "history")
    builds: list[Shipped] = []
    release_tags: dict[str, str] = {}
    for step, (tag, moved) in enumerate(HISTORY):
        builds.append(ship(p, branch_build("main"), new_commit=step > 0))
        result = release(p, tag)
        assert result.returncode == 0, f"step {step} ({tag}): {result.report()}"
        assert not built_anything(result)
        release_tags.update(dict.fromkeys(moved, builds[-1].digest))
        expected = {**pushed_tags(*builds), **release_tags}
        actual = bed.registry.tag_digests(p.repository_path)
        assert actual == expected, f"after {tag}: {describe(actual, expected, builds)}"


def describe(actual: dict[str, str], expected: dict[str, str], builds: list[Shipped]) -> str:
    """Which tags differ, with digests as build numbers."""
    index = {b.digest: f"build {i}" for i, b in enumerate(builds)}
    wrong = {
        tag: (
            index.get(actual.get(tag, ""), actual.get(tag)),
            index.get(expected.get(tag, ""), expected.get(tag)),
        )
        for tag in sorted(set(actual) | set(expected))
        if actual.get(tag) != expected.get(tag)
    }
    return f"tag: (actual, expected) {wrong}"


def test_row6_an_existing_version_is_never_moved_to_another_digest(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    p = scenario(pipeline, bed, tmp_path, "rerelease")
    first = ship(p, branch_build("main"), new_commit=False)
    assert release(p, "v1.0.0").returncode == 0
    second = ship(p, branch_build("main"))
    registry_before = bed.registry.tag_digests(p.repository_path)

    moved = release(p, "v1.0.0", force=True)
    assert moved.returncode != 0, (
        "re-releasing 1.0.0 with another digest succeeded: " + moved.report()
    )
    assert "1.0.0" in moved.output, moved.report()
    assert bed.registry.tag_digests(p.repository_path) == registry_before
    assert registry_before["1.0.0"] == first.digest != second.digest

    again = release(p, "v1.0.0", at=first.commit, force=True)
    assert again.returncode == 0, (
        "re-releasing 1.0.0 with the same digest must be a no-op: " + again.report()
    )
    assert bed.registry.tag_digests(p.repository_path) == registry_before
