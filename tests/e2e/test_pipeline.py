"""The rendered repository's own build paths: ci/build.sh, ci/test.sh, local_build.sh, compose."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest

from tests import stackfacts
from tests.e2e import containers
from tests.e2e.containers import Container
from tests.e2e.pipeline import Build, BuiltImage, Pipeline, ScriptRun
from tests.e2e.providers import branch_build
from tests.e2e.stacks import build_environment
from tests.e2e.testbed.bed import Testbed
from tests.e2e.testbed.cleanup import COMPOSE_PROJECT_PREFIX
from tests.e2e.testbed.engine import run

pytestmark = pytest.mark.engine

PACKAGES_DIR = "/usr/share/image-packages"
BROKEN_ON_PURPOSE = "imgscaffold e2e: broken on purpose"

RELEASE_OR_LATEST = re.compile(r"^(latest|v?\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?)$")
TAG_SYNTAX = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def docker_built(run_: ScriptRun) -> bool:
    """Whether a script ran `docker build` or `docker buildx build`."""
    return bool(run_.build_calls())


def break_the_service(repo: Path, stack: str) -> None:
    """Make the sample service exit as soon as it starts (source only; Dockerfile untouched)."""
    facts = stackfacts.stack(stack)
    source = repo / facts.app_entry
    lines = source.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(facts.break_before))
    lines.insert(at, facts.breaking_statement.format(message=BROKEN_ON_PURPOSE))
    source.write_text("".join(lines))


# ------------------------------------------------------------------------------ row 13


@pytest.mark.every_provider
def test_row13_ci_test_script_passes(pipeline: Pipeline, ci_build: Build) -> None:
    result = pipeline.run("ci/test.sh", branch_build("main"))
    assert result.returncode == 0, result.report()
    assert "Passes:" in result.output, "container-structure-test did not run: " + result.report()


def test_row13_broken_smoke_test_fails_the_build(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    broken = pipeline.clone(
        tmp_path / "broken", image_name=f"{bed.registry.host}/e2e/{pipeline.variant.id}-broken"
    )
    break_the_service(broken.repo, pipeline.variant.stack)
    broken.commit("Break the service on purpose")
    result = broken.run("ci/build.sh", branch_build("main"), timestamp=int(time.time()))
    assert result.returncode != 0, result.report()
    assert BROKEN_ON_PURPOSE in result.output, (
        "the build failed, but not by running the service: " + result.report()
    )
    assert not (broken.repo / "build" / "image.env").exists()
    tags = bed.engine.docker(
        "images", "--format", "{{.Tag}}", broken.effective_image_name
    ).stdout.split()
    assert not tags, f"a broken build left tagged images: {tags}"


# ------------------------------------------------------------------------------- row 8


@pytest.mark.every_provider
def test_row8_package_lists_are_in_the_image_and_kept_by_ci(
    image: BuiltImage, pipeline: Pipeline, bed: Testbed, ci_build: Build
) -> None:
    for name in ("os.txt", pipeline.variant.facts.package_list):
        # Copied out, not read with cat: a shell-free image has no cat.
        in_image = containers.read_file(bed.engine, image.reference, f"{PACKAGES_DIR}/{name}")
        assert in_image.strip(), f"{name} is empty"
        artifact = pipeline.repo / "build" / "packages" / name
        assert artifact.is_file(), f"ci/build.sh did not copy {name} to build/packages/"
        assert artifact.read_text() == in_image
    os_packages = containers.read_file(bed.engine, image.reference, f"{PACKAGES_DIR}/os.txt")
    # Every Debian-based image, distroless included, has base-files; lines are name=version.
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?=\S+", line)
               for line in os_packages.splitlines()), os_packages  # fmt: skip
    assert re.search(r"^base-files=", os_packages, re.MULTILINE), os_packages


# ------------------------------------------------------------------------------ row 10


@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_row10_build_refuses_a_dirty_tree(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path, change: str
) -> None:
    dirty = pipeline.clone(
        tmp_path / "dirty", image_name=f"{bed.registry.host}/e2e/{pipeline.variant.id}-dirty"
    )
    if change == "modified":
        with (dirty.repo / "Dockerfile").open("a") as dockerfile:
            dockerfile.write("# an uncommitted change\n")
    else:
        (dirty.repo / pipeline.variant.facts.app_entry).with_name("uncommitted.txt").write_text(
            "not in git\n"
        )
    result = dirty.run("ci/build.sh", branch_build("main"), timestamp=int(time.time()))
    assert result.returncode != 0, result.report()
    assert not docker_built(result), "ci/build.sh built from a dirty tree"
    assert re.search(
        r"dirty|uncommitted|not clean|clean tree|modified|untracked", result.output, re.I
    ), result.report()


# ------------------------------------------------------------- the three build paths

BUILD_COMMAND = {
    "buildx": ["buildx", "build"],
    "buildkit": ["build"],
    "classic": ["build"],
}


def test_the_ci_build_takes_the_buildx_path(ci_build: Build) -> None:
    calls = [call.split()[:2] for call in ci_build.run.docker_calls]
    assert ["buildx", "build"] in calls, ci_build.run.docker_calls


@pytest.mark.parametrize("builder", ["buildkit", "classic"])
def test_the_plain_buildkit_and_classic_builder_paths_build_the_same_image(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path, image: BuiltImage, builder: str
) -> None:
    clone = pipeline.clone(
        tmp_path / builder, image_name=f"{bed.registry.host}/e2e/{pipeline.variant.id}-{builder}"
    )
    result = clone.run(
        "ci/build.sh", branch_build("main"), timestamp=int(time.time()), env={"CI_BUILDER": builder}
    )
    assert result.returncode == 0, result.report()
    builds = result.build_calls()
    assert builds and builds[0][: len(BUILD_COMMAND[builder])] == BUILD_COMMAND[builder], builds
    built = bed.engine.inspect(clone.image_env()["IMAGE"])
    # The same image contract as the buildx build: labels, user, health check, volume.
    labels = built["Config"]["Labels"]
    for key in ("title", "description", "licenses", "vendor", "authors", "source"):
        name = f"org.opencontainers.image.{key}"
        assert labels[name] == image.labels[name], name
    for key in ("User", "Healthcheck", "Volumes", "ExposedPorts", "Entrypoint", "Cmd"):
        assert built["Config"][key] == image.config[key], key
    container = containers.start(bed.engine, built["Id"])
    try:
        container.wait_for_health("healthy", seconds=30)
    finally:
        container.remove()


# ------------------------------------------------------------------------------ row 15


@pytest.mark.parametrize("buildkit", ["1", "0"], ids=["buildkit", "legacy-builder"])
def test_row15_plain_docker_build_fails_naming_local_build(
    pipeline: Pipeline, bed: Testbed, buildkit: str
) -> None:
    # The base image (and a stack's other images, such as go's BUILDER_IMAGE) is
    # overridden only because nothing can be pulled from Docker Hub here.
    before = bed.engine.image_ids()
    inputs = {**build_environment(bed, pipeline.variant.stack, pipeline.repo), **pipeline.stack_env}
    images = {name: value for name, value in inputs.items() if name.endswith("_IMAGE")}
    images["BASE_IMAGE"] = pipeline.standin.reference
    build_args = [
        arg for name, value in images.items() for arg in ("--build-arg", f"{name}={value}")
    ]
    done = run(
        [bed.engine.client, "build", *build_args, "."],
        cwd=pipeline.repo,
        env=bed.engine.environment({"DOCKER_BUILDKIT": buildkit}),
        check=False,
        timeout=600,
    )
    assert done.returncode != 0, "a plain docker build succeeded"
    assert "local_build.sh" in done.stdout + done.stderr, done.stdout[-3000:] + done.stderr[-3000:]
    remove_build_leftovers(bed, bed.engine.image_ids() - before)


def remove_build_leftovers(bed: Testbed, images: set[str]) -> None:
    """The classic builder keeps the failed step's container and the layers before it."""
    for image in images:
        for container in bed.engine.docker(
            "ps", "-aq", "--filter", f"ancestor={image}"
        ).stdout.split():
            bed.engine.docker("rm", "-f", "-v", container, check=False)
    for image in images:
        bed.engine.docker("rmi", "-f", image, check=False)


def test_row15_local_build_is_marked_development_and_never_pushed(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    local = pipeline.clone(
        tmp_path / "local", image_name=f"{bed.registry.host}/e2e/{pipeline.variant.id}-local"
    )
    before = bed.engine.image_ids(local.effective_image_name)
    result = local.run("local_build.sh", None)
    assert result.returncode == 0, result.report()
    new = bed.engine.image_ids(local.effective_image_name) - before
    tagged = [bed.engine.inspect(i) for i in new if bed.engine.inspect(i).get("RepoTags")]
    assert len(tagged) == 1, f"local_build.sh should make one tagged image, made {len(tagged)}"
    labels = tagged[0]["Config"]["Labels"]
    assert labels.get("io.imgscaffold.build.kind") == "development"
    tags = [ref.rsplit(":", 1)[1] for ref in tagged[0]["RepoTags"]]
    assert not [t for t in tags if RELEASE_OR_LATEST.match(t)], (
        f"a development image got release tags: {tags}"
    )
    assert not [c for c in result.docker_calls if c.split()[:1] == ["push"]], (
        "local_build.sh pushed"
    )
    assert bed.registry.tags(local.repository_path) == set()


# ------------------------------------------------------------------------------- row 6


@pytest.mark.every_provider
def test_row6_unique_tag_is_sanitised_for_any_branch_name(
    pipeline: Pipeline, bed: Testbed, tmp_path: Path
) -> None:
    branch = "Feature/Odd_Name+x"
    clone = pipeline.clone(
        tmp_path / "branch", image_name=f"{bed.registry.host}/e2e/{pipeline.variant.id}-branch"
    )
    run(["git", "-C", clone.repo, "checkout", "-q", "-b", branch])
    timestamp = int(time.time())
    build = clone.build(branch_build(branch), timestamp=timestamp)
    tag = build.image_env["UNIQUE_TAG"]
    assert TAG_SYNTAX.match(tag), tag
    assert tag.endswith(f"-{build.commit[:7]}-{timestamp}"), tag
    assert "/" not in tag and "+" not in tag


# ------------------------------------------------------------------------------ row 2


def test_row2_compose_runs_the_image_healthy_with_a_named_volume(
    pipeline: Pipeline, bed: Testbed, ci_build: Build
) -> None:
    project = f"{COMPOSE_PROJECT_PREFIX}{uuid.uuid4().hex[:8]}"
    # Compose v2, the `docker compose` plugin that the rendered README names.
    compose = [str(bed.engine.client), "compose", "-p", project, "-f", "compose.yaml"]
    version = run([*compose, "version", "--short"], cwd=pipeline.repo, check=False, timeout=60)
    assert version.returncode == 0 and version.stdout.strip().startswith("2."), version
    env = bed.engine.environment({"IMAGE": ci_build.image})
    try:
        up = run(
            [*compose, "up", "-d", "--no-build"],
            cwd=pipeline.repo,
            env=env,
            check=False,
            timeout=300,
        )
        assert up.returncode == 0, up.stderr
        ids = bed.engine.docker(
            "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"
        ).stdout.split()
        ours = [
            Container(bed.engine, i)
            for i in ids
            if Container(bed.engine, i).inspect()["Config"]["Image"] == ci_build.image
        ]
        assert len(ours) == 1, "compose must run exactly one container of the image built here"
        service = ours[0]
        service.wait_for_health("healthy", seconds=120)
        data_dir = str(pipeline.answers["data_dir"])
        mounts = {m["Destination"]: m for m in service.inspect()["Mounts"]}
        assert mounts.get(data_dir, {}).get("Type") == "volume", (
            f"{data_dir} is not a volume: {mounts}"
        )
        assert not re.fullmatch(r"[0-9a-f]{64}", mounts[data_dir]["Name"]), (
            "the data volume is anonymous, not named"
        )
        problem = containers.pid1_problem(service, pipeline.variant.facts.service_process)
        assert problem is None, problem
    finally:
        run(
            [*compose, "down", "-v", "--remove-orphans"],
            cwd=pipeline.repo,
            env=env,
            check=False,
            timeout=120,
        )
