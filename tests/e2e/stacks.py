"""What the engine tests do with each stack's facts (template/.partials/stacks/<stack>/
stack.toml, read by tests/stackfacts.py): the stand-in of its base image and its builds'
own build arguments."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests import stackfacts
from tests.e2e import artifacts

if TYPE_CHECKING:
    from tests.e2e.testbed.bed import Testbed


def base_standin(stack: str) -> str:
    """The testbed stand-in that replaces the stack's BASE_IMAGE (`standin.base`)."""
    return stackfacts.stack(stack).base_standin


def build_environment(bed: Testbed, stack: str, repo: Path) -> dict[str, str]:
    """What the stack's builds of `repo` need besides BASE_IMAGE: its own build arguments
    (`build_args` in its stack.jinja), pointing at test bed resources (`standin.build_args`
    and `standin.release_build_args` in its stack.toml)."""
    facts = stackfacts.stack(stack)
    environment = {
        arg: bed.standin(standin).reference for arg, standin in facts.build_arg_standins.items()
    }
    if facts.release_build_args:
        environment.update(artifact_build_environment(repo))
    return environment


def artifact_build_environment(repo: Path, version: str = artifacts.VERSION) -> dict[str, str]:
    """ARTIFACT_* for the release that `repo`'s own artifact/package.sh makes of its
    sample source, served on loopback, so the build downloads what the checkout holds."""
    release = artifacts.publish_release(repo, version)
    name = release.path.name
    pattern = release.url.removesuffix(name) + name.replace(
        f"-{version}.tar.gz", "-{version}.tar.gz"
    )
    return {
        "ARTIFACT_URL": pattern,
        "ARTIFACT_VERSION": version,
        "ARTIFACT_SHA256": release.sha256,
        # The server listens on the test process's loopback, which only host networking reaches.
        "BUILD_NETWORK": "host",
    }
