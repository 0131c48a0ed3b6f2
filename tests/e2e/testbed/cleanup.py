"""Removing what the tests created from the engine at the end of a session."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tests.e2e.testbed.engine import TEST_LABEL, Engine

COMPOSE_PROJECT_PREFIX = "imgscaffold-e2e-"
"""Compose projects started by the tests; swept by their compose project label."""


ANCESTORS_PER_CALL = 64
"""Images per `docker ps --filter ancestor=...` call of the sweep."""


def sweep(engine: Engine, registry_host: str, volumes_before: set[str]) -> list[str]:
    """Remove what tests created: labelled objects and every image named in our registry.

    Anonymous volumes cannot be labelled: every container of an image with a VOLUME gets
    one, and tools such as container-structure-test remove their containers without them.
    Those that appeared during the session and are now dangling are removed too.
    """
    problems: list[str] = []

    def remove(kind: str, command: Sequence[str], ids: Sequence[str]) -> None:
        if not ids:
            return
        done = engine.docker(*command, *ids, check=False, timeout=300)
        if done.returncode != 0:
            problems.append(f"{kind}: {done.stderr.strip()[:300]}")

    ours = images_named_in(engine, registry_host)
    labelled_images = engine.docker(
        "images", "-q", "--filter", f"label={TEST_LABEL}"
    ).stdout.split()
    containers = set(engine.docker("ps", "-aq", "--filter", f"label={TEST_LABEL}").stdout.split())
    # `ancestor` also matches descendants: never filter by a base image. Filters on one
    # key are OR-ed, so one call asks for many images (a call per image took minutes).
    images = [ref for ref in ours if not ref.startswith(f"{registry_host}/standin/")]
    images += labelled_images
    for start in range(0, len(images), ANCESTORS_PER_CALL):
        filters = [f"--filter=ancestor={i}" for i in images[start : start + ANCESTORS_PER_CALL]]
        containers.update(engine.docker("ps", "-aq", *filters).stdout.split())
    compose = engine.docker(
        "ps", "-a", "--filter", "label=com.docker.compose.project",
        "--format", '{{.ID}} {{.Label "com.docker.compose.project"}}',
    ).stdout.splitlines()  # fmt: skip
    containers.update(line.split()[0] for line in compose if f" {COMPOSE_PROJECT_PREFIX}" in line)
    remove("containers", ["rm", "-f", "-v"], sorted(containers))
    networks = engine.docker(
        "network", "ls", "-q", "--filter", f"label={TEST_LABEL}"
    ).stdout.split()
    networks += compose_objects(engine, "network")
    remove("networks", ["network", "rm"], networks)
    volumes = engine.docker("volume", "ls", "-q", "--filter", f"label={TEST_LABEL}").stdout.split()
    volumes += compose_objects(engine, "volume")
    volumes += sorted(anonymous_dangling_volumes(engine) - volumes_before)
    remove("volumes", ["volume", "rm", "-f"], volumes)
    remove("images", ["rmi", "-f"], ours + labelled_images)
    return problems


def anonymous_dangling_volumes(engine: Engine) -> set[str]:
    names = engine.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split()
    return {name for name in names if re.fullmatch(r"[0-9a-f]{64}", name)}


def all_volumes(engine: Engine) -> set[str]:
    return set(engine.docker("volume", "ls", "-q").stdout.split())


def images_named_in(engine: Engine, registry_host: str) -> list[str]:
    """Tags and digest references of images named in our registry.

    Never image ids: a pulled stand-in shares its id with the cached import, which stays.
    """
    listing = engine.docker(
        "images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"
    )
    refs = []
    for line in listing.stdout.splitlines():
        repository, tag, digest = line.split()
        if not repository.startswith(f"{registry_host}/"):
            continue
        if tag != "<none>":
            refs.append(f"{repository}:{tag}")
        elif digest != "<none>":
            refs.append(f"{repository}@{digest}")
    return refs


def compose_objects(engine: Engine, kind: str) -> list[str]:
    """Networks or volumes of compose projects started by the tests."""
    listing = engine.docker(
        kind, "ls", "--filter", "label=com.docker.compose.project",
        "--format", '{{.Name}} {{.Label "com.docker.compose.project"}}',
    ).stdout.splitlines()  # fmt: skip
    return [line.split()[0] for line in listing if f" {COMPOSE_PROJECT_PREFIX}" in line]
