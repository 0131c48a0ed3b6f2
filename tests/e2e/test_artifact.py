"""The artifact stack's download: the release named and verified, or a clear failure (rows 8, 9)."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import pytest

from tests.e2e import containers
from tests.e2e.pipeline import BuiltImage, Pipeline, ScriptRun
from tests.e2e.providers import branch_build
from tests.e2e.stacks import artifact_build_environment
from tests.e2e.testbed.bed import Testbed
from tests.e2e.testbed.engine import TEST_LABEL, run
from tests.e2e.variants import discover_variants

pytestmark = pytest.mark.engine

ARTIFACT = next(v for v in discover_variants() if v.stack == "artifact" and v.full)
PACKAGES_DIR = "/usr/share/image-packages"


@pytest.fixture(scope="module")
def failing(bed: Testbed, tmp_path_factory: pytest.TempPathFactory, script_log: Path) -> Pipeline:
    """An artifact repository whose builds are meant to fail, pushing to a repository of its own."""
    repo = tmp_path_factory.mktemp("artifact-failures") / "repo"
    return Pipeline.rendered(
        bed,
        ARTIFACT,
        repo,
        logs=script_log,
        image_name=f"{bed.registry.host}/e2e/artifact-failures",
    )


def build_with(pipeline: Pipeline, **overrides: str) -> ScriptRun:
    return pipeline.run(
        "ci/build.sh", branch_build("main"), timestamp=int(time.time()), env=overrides
    )


def assert_nothing_built_or_pushed(pipeline: Pipeline, result: ScriptRun) -> None:
    assert result.returncode != 0, result.report()
    assert not (pipeline.repo / "build" / "image.env").exists()
    tags = pipeline.bed.engine.docker(
        "images", "--format", "{{.Tag}}", pipeline.effective_image_name
    ).stdout.split()
    assert not tags, f"a failed build left tagged images: {tags}"
    assert not pipeline.bed.registry.tags(pipeline.repository_path)
    assert not [call for call in result.docker_calls if call.split()[:1] == ["push"]]


def test_row9_a_wrong_checksum_fails_the_build_naming_both_checksums(failing: Pipeline) -> None:
    actual = artifact_build_environment(failing.repo)["ARTIFACT_SHA256"]
    expected = hashlib.sha256(b"some other release").hexdigest()
    result = build_with(failing, ARTIFACT_SHA256=expected)
    assert_nothing_built_or_pushed(failing, result)
    assert "checksum mismatch" in result.output, result.report()
    assert f"expected ARTIFACT_SHA256={expected}" in result.output, result.report()
    assert actual in result.output, "the message does not name the actual checksum"


def test_row9_a_missing_release_fails_naming_what_to_set(failing: Pipeline) -> None:
    result = build_with(failing, ARTIFACT_VERSION="9.9.9-unpublished")
    assert_nothing_built_or_pushed(failing, result)
    assert "cannot download" in result.output, result.report()
    assert "HTTP Error 404" in result.output, result.report()
    assert "-9.9.9-unpublished.tar.gz" in result.output, result.report()
    for name in ("ARTIFACT_URL", "ARTIFACT_VERSION", "ARTIFACT_SHA256"):
        assert name in result.output.split("cannot download", 1)[1], result.report()


def test_row9_an_unreachable_server_fails_clearly(failing: Pipeline) -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/releases/notes-{{version}}.tar.gz"
    result = build_with(failing, ARTIFACT_URL=url)
    assert_nothing_built_or_pushed(failing, result)
    assert "cannot download" in result.output, result.report()
    assert "Connection refused" in result.output, result.report()


def test_row9_an_invalid_version_is_refused_before_any_download(failing: Pipeline) -> None:
    result = build_with(failing, ARTIFACT_VERSION="1.0/../../etc")
    assert_nothing_built_or_pushed(failing, result)
    assert "is not a version" in result.output, result.report()
    # The step's own text holds `echo "downloading ${url}"`; its output would name the URL.
    assert "downloading http" not in result.output, result.report()


@pytest.mark.applies_to(lambda variant: variant.stack == "artifact")
def test_row8_the_image_records_the_release_it_holds(
    pipeline: Pipeline, image: BuiltImage, bed: Testbed
) -> None:
    served = artifact_build_environment(pipeline.repo)
    done = containers.run_once(
        bed.engine, image.reference, command=["cat", f"{PACKAGES_DIR}/artifact.txt", "/app/VERSION"]
    )
    assert done.returncode == 0, done.stderr
    version = served["ARTIFACT_VERSION"]
    url = served["ARTIFACT_URL"].replace("{version}", version)
    assert f"={version} sha256:{served['ARTIFACT_SHA256']} {url}\n" in done.stdout, done.stdout
    assert done.stdout.endswith(f"\n{version}\n"), done.stdout
    history = bed.engine.docker("history", "--no-trunc", image.reference).stdout
    assert ".tar.gz" not in history.replace("tar -xzf", ""), "the archive reached the image"


def test_row9_build_network_host_works_with_the_classic_builder(
    failing: Pipeline, bed: Testbed
) -> None:
    """BUILD_NETWORK=host is passed as `--network host`; the classic builder honours it too."""
    served = artifact_build_environment(failing.repo)
    image = f"{failing.effective_image_name}:classic-{int(time.time())}"
    args = [
        f"--build-arg={name}={value}" for name, value in served.items() if name != "BUILD_NETWORK"
    ]
    done = run(
        [
            # --no-cache: the download must run here, not come from another test's build.
            bed.engine.client, "build", "--no-cache", "--network", "host", "--label", TEST_LABEL,
            "--tag", image,
            "--build-arg", "never_build_manually=true",
            "--build-arg", f"BASE_IMAGE={failing.standin.reference}",
            *args, ".",
        ],
        cwd=failing.repo, env={**bed.engine.environment(), "DOCKER_BUILDKIT": "0"},
        timeout=900, check=False,
    )  # fmt: skip
    try:
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        assert f"sha256 {served['ARTIFACT_SHA256']} OK" in done.stdout
        assert "smoke-test: all checks passed" in done.stdout
    finally:
        bed.engine.docker("rmi", "--force", image, check=False)
