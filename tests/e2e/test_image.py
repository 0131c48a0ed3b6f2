"""What `docker image inspect` proves about the image `ci/build.sh` built for a push to main."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from imgscaffold.check.runner import check_image
from tests.e2e.pipeline import Build, BuiltImage, Pipeline
from tests.e2e.variants import git, repository_web_url

# The CI build's image and its labels come from the provider's variables: every provider.
pytestmark = [pytest.mark.engine, pytest.mark.every_provider]

OCI = "org.opencontainers.image."
OCI_KEYS = (
    "created", "revision", "version", "source", "url", "title", "description", "licenses",
    "vendor", "authors", "documentation", "base.name", "base.digest",
)  # fmt: skip
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
RELEASE_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")
TAG_SYNTAX = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def test_row1_runs_as_a_numeric_non_root_user(image: BuiltImage) -> None:
    user = image.config.get("User") or ""
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, f".Config.User is {user!r}"
    assert not gid or gid.isdigit(), f".Config.User group is not numeric: {user!r}"


def test_row1_entrypoint_and_command_are_exec_form(image: BuiltImage) -> None:
    for key in ("Entrypoint", "Cmd"):
        value = image.config.get(key) or []
        assert value, f"no {key}"
        assert value[:2] not in (["/bin/sh", "-c"], ["sh", "-c"]), f"{key} is shell form: {value}"


def test_row11_every_oci_label_is_set_and_none_is_empty(image: BuiltImage) -> None:
    missing = [key for key in OCI_KEYS if not (image.labels.get(OCI + key) or "").strip()]
    assert not missing, f"missing or empty labels: {missing}"
    empty = [key for key, value in image.labels.items() if not value.strip()]
    assert not empty, f"empty labels: {empty}"


def test_row11_labels_are_the_build_arguments(
    image: BuiltImage, ci_build: Build, pipeline: Pipeline
) -> None:
    labels, answers = image.labels, pipeline.answers
    assert labels[OCI + "revision"] == ci_build.image_env["COMMIT"]
    assert labels[OCI + "version"] == ci_build.image_env["VERSION"]
    assert labels[OCI + "base.digest"] == ci_build.image_env["BASE_DIGEST"]
    # The answers hold quotes, '&', '$', a backslash and non-ASCII letters: exactly them.
    assert labels[OCI + "description"] == answers["description"]
    assert labels[OCI + "licenses"] == answers["license"]
    assert labels[OCI + "vendor"] == answers["organisation"]
    authors = f"{answers['maintainer_name']} <{answers['maintainer_email']}>"
    assert labels[OCI + "authors"] == authors
    assert labels[OCI + "title"] == answers["service_name"]


def test_row11_created_is_rfc3339_and_the_commit_time(
    image: BuiltImage, ci_build: Build, pipeline: Pipeline
) -> None:
    """A CI build is a function of its commit, so "created" is when the commit was made."""
    created = image.labels[OCI + "created"]
    assert RFC3339.match(created), f"created label {created!r} is not RFC 3339"
    when = datetime.fromisoformat(created.replace("Z", "+00:00").replace("z", "+00:00")).timestamp()
    committed = int(git(pipeline.repo, "log", "-1", "--format=%ct", ci_build.commit))
    assert when == committed, f"created {created} is not the commit's time"
    # The image config's own creation time and history say the same.
    assert image.inspect["Created"].startswith(created.removesuffix("Z"))


def test_row10_revision_is_the_built_commit_and_source_the_repository(
    image: BuiltImage, ci_build: Build, pipeline: Pipeline
) -> None:
    assert ci_build.commit == pipeline.head()
    assert image.labels[OCI + "revision"] == ci_build.commit
    assert len(ci_build.commit) == 40
    # The answer is a clone address; the labels carry the repository's web address.
    web = repository_web_url(pipeline.variant)
    assert image.labels[OCI + "source"] == web
    assert image.labels[OCI + "url"] == web
    assert image.labels[OCI + "documentation"] == f"{web}#readme"


def test_row10_branch_build_version_is_not_a_release(image: BuiltImage) -> None:
    version = image.labels[OCI + "version"]
    assert not RELEASE_VERSION.match(version), f"a branch build claims release version {version}"


def test_row8_base_labels_name_the_real_base_image(
    image: BuiltImage, pipeline: Pipeline, ci_build: Build
) -> None:
    standin = pipeline.standin
    assert image.labels[OCI + "base.digest"] == standin.digest
    assert image.labels[OCI + "base.name"] in (standin.name, standin.reference)
    assert ci_build.image_env["BASE_IMAGE"] in (standin.name, standin.reference)
    assert ci_build.image_env["BASE_DIGEST"] == standin.digest


def test_row15_ci_builds_are_labelled_as_ci_builds(image: BuiltImage) -> None:
    assert image.labels.get("io.imgscaffold.build.kind") == "ci"
    # The CI run is named in the provenance (test_supply_chain): a label that differs on
    # every run would make every run's image another one.
    assert "io.imgscaffold.build.url" not in image.labels


def test_row10_the_version_label_depends_on_the_commit_alone(
    image: BuiltImage, ci_build: Build
) -> None:
    assert image.labels[OCI + "version"] == f"0.0.0-g{ci_build.commit[:12]}"


def test_row12_exactly_one_healthcheck_with_explicit_timing(image: BuiltImage) -> None:
    health = image.config.get("Healthcheck") or {}
    probe = health.get("Test") or []
    assert probe and probe[0] in ("CMD", "CMD-SHELL"), f"no HEALTHCHECK: {health}"
    for key in ("Interval", "Timeout", "StartPeriod", "Retries"):
        assert int(health.get(key) or 0) > 0, f"HEALTHCHECK has no explicit {key}: {health}"


def test_row6_branch_build_gets_one_unique_tag(
    image: BuiltImage, ci_build: Build, build_timestamp: int
) -> None:
    env = ci_build.image_env
    assert env["UNIQUE_TAG"] == f"main-{ci_build.commit[:7]}-{build_timestamp}"
    assert TAG_SYNTAX.match(env["UNIQUE_TAG"])
    assert env["IMAGE"] == f"{env['IMAGE_NAME']}:{env['UNIQUE_TAG']}"
    tags = [ref.rsplit(":", 1)[1] for ref in image.inspect.get("RepoTags") or []]
    assert env["UNIQUE_TAG"] in tags
    assert not [t for t in tags if t == "latest" or RELEASE_VERSION.match(t)], (
        f"a build made release tags: {tags}"
    )


def test_row6_image_name_defaults_to_the_answers(ci_build: Build, pipeline: Pipeline) -> None:
    assert ci_build.image_env["IMAGE_NAME"] == pipeline.default_image_name


def test_imgscaffold_check_passes_the_ci_build(ci_build: Build, pipeline: Pipeline) -> None:
    """`imgscaffold check --image` on the CI build: every image rule holds, the package
    lists included (built, not pushed: the registry rules run in test_supply_chain.py)."""
    report = check_image(
        ci_build.image, docker=str(pipeline.bed.engine.client), read_registry=False
    )
    assert [f"{f.rule}: {f.message}" for f in report.findings] == []
    assert len(report.ran) == 8, report.ran
