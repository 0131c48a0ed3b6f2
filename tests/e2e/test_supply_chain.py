"""The supply chain of a CI build: repeatable (row 8), with provenance (row 10).

Every CI build of one commit is the same image.

Two cold builds (`BUILD_NO_CACHE=1`), from fresh clones (so every file on disk has a new
time), at different times and as different kinds of build (branch, pull request), must
give the same platform manifest digest; so must a rebuild of a released tag after the
repository moved on. The image index around the platform manifest differs between runs
only by its provenance attestation, which records when and where the build ran.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from imgscaffold.check.runner import check_image
from tests import stackfacts
from tests.e2e.containers import read_file
from tests.e2e.pipeline import Build, BuiltImage, Pipeline
from tests.e2e.providers import branch_build, build_url, pull_request_build, release_build
from tests.e2e.testbed.bed import Testbed
from tests.e2e.testbed.registry import MANIFEST_TYPES, http_request
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


def backdate(repo: Path, when: int) -> None:
    """Every file and directory of a checkout (but .git) gets the time `when`."""
    for path in [repo, *repo.rglob("*")]:
        if ".git" not in path.relative_to(repo).parts:
            os.utime(path, (when, when), follow_symlinks=False)


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
    # A workspace whose files are older than the commit (a reused checkout): the export
    # clamps only later times, so ci/build.sh must set them itself.
    backdate(first_clone.repo, int(git(first_clone.repo, "log", "-1", "--format=%ct")) - 86400)
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


# A shell-free image's users come from the build stage, without /etc/shadow.
@pytest.mark.applies_to(lambda variant: not variant.facts.shell_free)
def test_row8_the_image_records_no_build_day(pipeline: Pipeline, image: BuiltImage) -> None:
    """useradd writes the day it ran into /etc/shadow; a repeatable layer must not."""
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
    built = built_platforms(build, p)
    git(p.repo, "tag", "-a", "v1.0.0", "-m", "Release v1.0.0")
    shutil.rmtree(p.repo / "build")  # the release job runs on a fresh checkout
    released = p.run("ci/release.sh", release_build("v1.0.0"))
    assert released.returncode == 0, released.report()
    released_platforms = platform_manifests(registry_index(bed, p.repository_path, "1.0.0"))
    assert released_platforms == built
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


# ------------------------------------------------------------- rows 6/7: signed releases


def consumer_environment(bed: Testbed) -> dict[str, str]:
    """A consumer of the images: the public key, and no signing key of its own."""
    return {"COSIGN_KEY": "", "COSIGN_PASSWORD": "", "COSIGN_PUBLIC_KEY": str(bed.public_key())}


def cosign(bed: Testbed, *args: str, env: dict[str, str] | None = None) -> str:
    """cosign against the test bed's plain-HTTP registry, without a transparency log."""
    done = subprocess.run(
        ["cosign", *args, "--allow-http-registry", "--allow-insecure-registry"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert done.returncode == 0, f"cosign {' '.join(args)}: {done.stderr}"
    return done.stdout


def attested_sbom(bed: Testbed, ref: str) -> dict[str, Any]:
    """The SPDX document of REF's verified SBOM attestation."""
    out = cosign(
        bed, "verify-attestation", "--type", "spdxjson", "--key", str(bed.public_key()),
        "--insecure-ignore-tlog=true", ref,
    )  # fmt: skip
    envelope = json.loads(out.splitlines()[0])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    return dict(statement["predicate"])


def test_row6_a_release_is_signed_and_verifies_and_nothing_else_does(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    """The rendered ci/verify.sh, as a consumer with the public key runs it."""
    name = f"{bed.registry.host}/e2e/{pipeline.variant.id}-verify"
    p = pipeline.clone(tmp_path / "verify", image_name=name)
    good = p.commit("Release candidate")
    p.build(branch_build("main"), timestamp=next(_timestamps))
    p.must("ci/push.sh", branch_build("main"))
    good_digest = bed.registry.digest(p.repository_path, f"sha-{good}")
    # The SBOM attached to the pushed digest is the image's (row 8's SBOM).
    sbom = attested_sbom(bed, f"{name}@{good_digest}")
    assert_sbom_lists_the_packages(sbom, p.repo, pipeline.variant.stack)

    # A commit whose build has no SBOM (ci/build.sh ran without syft): pushed, but a
    # release of it is refused and moves no tag.
    bare = p.commit("Built without an SBOM")
    p.build(branch_build("main"), timestamp=next(_timestamps))
    (p.repo / "build" / "sbom.spdx.json").unlink()
    p.must("ci/push.sh", branch_build("main"))
    bare_digest = bed.registry.digest(p.repository_path, f"sha-{bare}")
    git(p.repo, "tag", "-a", "v1.1.0", "-m", "Release v1.1.0")
    shutil.rmtree(p.repo / "build")
    refused = p.run("ci/release.sh", release_build("v1.1.0"))
    assert refused.returncode != 0, refused.report()
    assert "no verified SBOM attestation" in refused.output, refused.report()
    moved = {"1.1.0", "1.1", "1", "latest"} & set(bed.registry.tag_digests(p.repository_path))
    assert not moved, f"the refused release set {moved}"
    assert "sig" not in bed.registry.attached(p.repository_path).get(bare_digest, set())
    git(p.repo, "tag", "-d", "v1.1.0")

    git(p.repo, "checkout", "-q", "--detach", good)
    git(p.repo, "tag", "-a", "v1.0.0", "-m", "Release v1.0.0")
    released = p.run("ci/release.sh", release_build("v1.0.0"))
    assert released.returncode == 0, released.report()

    consumer = consumer_environment(bed)
    verified = p.run("ci/verify.sh", None, f"{name}:1.0.0", env=consumer)
    assert verified.returncode == 0, verified.report()
    for line in (
        f"image: {name}@{good_digest}",
        "signature: verified",
        "SBOM: verified",
        f"provenance: built from commit {good}",
        "released as: 1.0.0 ",
    ):
        assert line in verified.stdout, verified.report()

    # `imgscaffold check --image` reads the same facts from the registry, without a key:
    # what is attached, not who signed it.
    assert supply_chain_findings(bed, f"{name}:1.0.0") == set()
    assert supply_chain_findings(bed, f"{name}@{bare_digest}") == {"IMG708"}

    unsigned = p.run("ci/verify.sh", None, f"{name}@{bare_digest}", env=consumer)
    assert unsigned.returncode == 1, unsigned.report()
    assert "signature: FAILED" in unsigned.stdout, unsigned.report()
    assert "SBOM: FAILED" in unsigned.stdout, unsigned.report()
    assert "released as: none" in unsigned.stdout, unsigned.report()

    # Someone with write access to the registry points the version at another image.
    subprocess.run(
        ["skopeo", "copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
         f"docker://{name}@{bare_digest}", f"docker://{name}:1.0.0"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    tampered = p.run("ci/verify.sh", None, f"{name}:1.0.0", env=consumer)
    assert tampered.returncode == 1, tampered.report()
    assert "signature: FAILED" in tampered.stdout, tampered.report()
    assert supply_chain_findings(bed, f"{name}:1.0.0") == {"IMG506", "IMG708"}

    # ... and signs it with a key of its own: still not the publisher's signature.
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(
        ["cosign", "generate-key-pair"], cwd=other, check=True, capture_output=True,
        timeout=60, env={**os.environ, "COSIGN_PASSWORD": "other"},
    )  # fmt: skip
    cosign(
        bed, "sign", "--yes", "--key", str(other / "cosign.key"), "--tlog-upload=false",
        f"{name}@{bare_digest}", env={"COSIGN_PASSWORD": "other"},
    )  # fmt: skip
    forged = p.run("ci/verify.sh", None, f"{name}:1.0.0", env=consumer)
    assert forged.returncode == 1, forged.report()
    assert "signature: FAILED" in forged.stdout, forged.report()


SUPPLY_CHAIN_RULES = {"IMG506", "IMG610", "IMG708", "IMG808"}


def supply_chain_findings(bed: Testbed, ref: str) -> set[str]:
    """The supply-chain rules that `imgscaffold check --image REF` finds broken, after
    pulling REF as a user would."""
    bed.engine.docker("pull", "-q", ref, timeout=300)
    report = check_image(ref, docker=str(bed.engine.client))
    assert set(report.ran) >= SUPPLY_CHAIN_RULES, report.skipped
    return {f.rule for f in report.findings} & SUPPLY_CHAIN_RULES


def assert_sbom_lists_the_packages(sbom: dict[str, Any], repo: Path, stack: str) -> None:
    """Every OS package the image records (build/packages/os.txt), and language packages."""
    listed = {(pkg["name"], pkg.get("versionInfo")) for pkg in sbom["packages"]}
    os_packages = {
        tuple(line.split("=", 1)) for line in (repo / "build/packages/os.txt").read_text().split()
    }
    assert os_packages, "the image records no OS packages"
    assert os_packages <= listed, f"not in the SBOM: {sorted(os_packages - listed)[:10]}"
    purl_types = {
        ref["referenceLocator"].split("/", 1)[0]
        for pkg in sbom["packages"]
        for ref in pkg.get("externalRefs") or []
        if ref.get("referenceType") == "purl"
    }
    language = stackfacts.stack(stack).purl_type
    if language is not None:
        assert language in purl_types, f"no {language} package in the SBOM: {purl_types}"
