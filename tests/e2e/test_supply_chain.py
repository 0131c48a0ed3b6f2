"""The supply chain of a CI build: repeatable (row 8), with provenance (row 10).

Every CI build of one commit is the same image.

Two cold builds (`BUILD_NO_CACHE=1`), from fresh clones (so every file on disk has a new
time), at different times and as different kinds of build (branch, pull request), must
give the same platform manifest digest; so must a rebuild of a released tag after the
repository moved on. The image index around the platform manifest differs between runs
only by its provenance attestation, which records when and where the build ran.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.containers import read_file
from tests.e2e.pipeline import Build, BuiltImage, Pipeline
from tests.e2e.providers import branch_build, build_url, pull_request_build, release_build
from tests.e2e.stacks import SHELL_FREE
from tests.e2e.testbed import MANIFEST_TYPES, Testbed, http_request
from tests.e2e.variants import git, repository_web_url

pytestmark = pytest.mark.engine

ATTESTATION = "attestation-manifest"
_timestamps = itertools.count(int(time.time()) + 1000, 97)


def archive_index(archive: Path) -> tuple[str, dict[str, Any]]:
    """The digest that the OCI archive's index.json names, and that image index."""
    with tarfile.open(archive) as tar:
        top = json.load(_member(tar, "index.json"))["manifests"][0]
        digest = top["digest"]
        return digest, json.load(_member(tar, "blobs/sha256/" + digest.split(":", 1)[1]))


def _member(tar: tarfile.TarFile, name: str) -> Any:
    member = tar.extractfile(name)
    assert member is not None, f"{name} is not a file in the archive"
    return member


def platform_manifests(index: dict[str, Any]) -> dict[str, str]:
    """platform -> manifest digest of an image index, attestation manifests left out."""
    found: dict[str, str] = {}
    for entry in index.get("manifests") or []:
        if (entry.get("annotations") or {}).get("vnd.docker.reference.type") == ATTESTATION:
            continue
        platform = entry.get("platform") or {}
        key = "/".join(p for p in (platform.get("os"), platform.get("architecture"),
                                   platform.get("variant")) if p)  # fmt: skip
        found[key] = entry["digest"]
    return found


def attestations(index: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        entry
        for entry in index.get("manifests") or []
        if (entry.get("annotations") or {}).get("vnd.docker.reference.type") == ATTESTATION
    ]


def registry_index(bed: Testbed, repository: str, reference: str) -> dict[str, Any]:
    status, _, body = http_request(
        f"http://{bed.registry.host}/v2/{repository}/manifests/{reference}",
        headers={"Accept": MANIFEST_TYPES},
    )
    assert status == 200, f"{repository}:{reference}: HTTP {status}"
    return dict(json.loads(body))


def cold_build(p: Pipeline, event: Any) -> Build:
    """ci/build.sh without the engine's build cache, at a later clock than any before."""
    commit = p.head()
    done = p.run("ci/build.sh", event, timestamp=next(_timestamps), env={"BUILD_NO_CACHE": "1"})
    assert done.returncode == 0, done.report()
    assert "--no-cache" in "\n".join(done.docker_calls), "the build used the cache"
    return Build(image_env=p.image_env(), run=done, commit=commit)


def built_platforms(build: Build, p: Pipeline) -> dict[str, str]:
    archive = p.repo / build.image_env["ARCHIVE"]
    digest, index = archive_index(archive)
    assert digest == build.image_env["DIGEST"]
    return platform_manifests(index)


def test_row8_ci_builds_write_an_archive_with_provenance(
    ci_build: Build, pipeline: Pipeline
) -> None:
    env = ci_build.image_env
    assert env["ARCHIVE"] == "build/image.oci.tar", "this engine can write OCI archives"
    digest, index = archive_index(pipeline.repo / env["ARCHIVE"])
    assert env["DIGEST"] == digest
    assert list(platform_manifests(index)) == ["linux/amd64"]
    assert len(attestations(index)) == 1, "no provenance attestation"
    inspect = pipeline.bed.engine.inspect(ci_build.image)
    assert inspect["Id"] == digest, "the engine holds another image than the archive"


def test_row8_two_cold_builds_of_one_commit_at_different_times_are_the_same_image(
    pipeline: Pipeline, ci_build: Build, tmp_path: Path
) -> None:
    first_clone = pipeline.clone(tmp_path / "first", image_name=None)
    first = cold_build(first_clone, branch_build("main"))
    # Later, elsewhere, and as a pull request build: new file times, another clock.
    time.sleep(1.5)
    second_clone = pipeline.clone(tmp_path / "second", image_name=None)
    second = cold_build(second_clone, pull_request_build(7, "feature/x"))
    assert first.commit == second.commit == ci_build.commit
    assert first.image_env["UNIQUE_TAG"] != second.image_env["UNIQUE_TAG"]
    ours = built_platforms(first, first_clone)
    assert ours == built_platforms(second, second_clone), "two cold builds differ"
    # The suite's first (warm) build of the commit is that image too.
    assert ours == built_platforms(ci_build, pipeline)


def test_row8_the_image_records_no_build_day(pipeline: Pipeline, image: BuiltImage) -> None:
    """useradd writes the day it ran into /etc/shadow; a repeatable layer must not."""
    if pipeline.variant.stack in SHELL_FREE:
        pytest.skip("a shell-free image's users come from the build stage, without /etc/shadow")
    uid = image.config["User"].split(":")[0]
    passwd = read_file(pipeline.bed.engine, image.reference, "/etc/passwd")
    users = [line.split(":")[0] for line in passwd.splitlines() if line.split(":")[2:3] == [uid]]
    assert len(users) == 1, f"no single user with uid {uid}: {users}"
    shadow = read_file(pipeline.bed.engine, image.reference, "/etc/shadow")
    entry = next(line for line in shadow.splitlines() if line.split(":")[0] == users[0])
    assert entry.split(":")[2] == "", f"the last password change is a date: {entry}"


def test_row8_a_released_tag_rebuilt_later_is_the_released_image(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    name = f"{bed.registry.host}/e2e/{pipeline.variant.id}-rebuild"
    p = pipeline.clone(tmp_path / "released", image_name=name)
    p.commit("Release candidate")
    build = p.build(branch_build("main"), timestamp=next(_timestamps))
    p.must("ci/push.sh", branch_build("main"))
    git(p.repo, "tag", "-a", "v1.0.0", "-m", "Release v1.0.0")
    shutil.rmtree(p.repo / "build")
    released = p.run("ci/release.sh", release_build("v1.0.0"))
    assert released.returncode == 0, released.report()
    released_platforms = platform_manifests(registry_index(bed, p.repository_path, "1.0.0"))
    assert released_platforms == built_platforms(build, p)
    p.commit("Work after the release")
    # Months later: a fresh clone of the tag, built cold as the tag's own CI build.
    later = p.clone(tmp_path / "later", image_name=name)
    git(later.repo, "checkout", "-q", "--detach", "v1.0.0")
    rebuilt = cold_build(later, release_build("v1.0.0"))
    assert rebuilt.commit == build.commit
    assert built_platforms(rebuilt, later) == released_platforms, (
        "the rebuilt release tag is another image than the released one"
    )


def provenance(archive: Path) -> dict[str, Any]:
    """The in-toto statement of the archive's provenance attestation."""
    _, index = archive_index(archive)
    (entry,) = attestations(index)
    with tarfile.open(archive) as tar:
        manifest = json.load(_member(tar, "blobs/sha256/" + entry["digest"].split(":", 1)[1]))
        (layer,) = manifest["layers"]
        assert layer["annotations"]["in-toto.io/predicate-type"].startswith(
            "https://slsa.dev/provenance/"
        )
        return dict(json.load(_member(tar, "blobs/sha256/" + layer["digest"].split(":", 1)[1])))


@pytest.mark.every_provider
def test_row10_the_provenance_names_the_run_commit_arguments_and_base(
    ci_build: Build, pipeline: Pipeline
) -> None:
    statement = provenance(pipeline.repo / ci_build.image_env["ARCHIVE"])
    _, index = archive_index(pipeline.repo / ci_build.image_env["ARCHIVE"])
    subjects = {s["digest"]["sha256"] for s in statement["subject"]}
    assert {d.split(":", 1)[1] for d in platform_manifests(index).values()} == subjects
    predicate = statement["predicate"]
    # The CI run that built the image (no longer a label: it differs on every run).
    expected_run = build_url(pipeline.variant.provider, repository_web_url(pipeline.variant))
    assert predicate["builder"]["id"] == expected_run
    args = predicate["invocation"]["parameters"]["args"]
    assert args["build-arg:VCS_REF"] == ci_build.commit
    assert args["build-arg:BASE_DIGEST"] == pipeline.standin.digest
    materials = {m["uri"].split("?")[0]: m["digest"]["sha256"] for m in predicate["materials"]}
    assert pipeline.standin.digest.split(":", 1)[1] in materials.values(), materials
    vcs = predicate["metadata"]["https://mobyproject.org/buildkit@v1#metadata"]["vcs"]
    assert vcs["revision"] == ci_build.commit
