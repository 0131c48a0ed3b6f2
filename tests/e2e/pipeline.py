"""Running a rendered repository's own `ci/` scripts the way its CI would.

A `Pipeline` is one rendered git repository plus the test bed: it runs `ci/build.sh`,
`ci/test.sh`, `ci/push.sh`, `ci/release.sh` and `local_build.sh` with the provider's
variables for a branch, pull-request or tag build, the stand-in base image and the test
bed's registry. It never edits a rendered file; only commits, tags and clones.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.e2e import providers
from tests.e2e.providers import CiEvent
from tests.e2e.stacks import base_standin, build_environment
from tests.e2e.testbed.bed import Testbed
from tests.e2e.testbed.standins import Standin
from tests.e2e.variants import Variant, git, render, repository_web_url

IMAGE_ENV_KEYS = (
    "IMAGE",
    "IMAGE_NAME",
    "UNIQUE_TAG",
    "COMMIT",
    "BASE_IMAGE",
    "BASE_DIGEST",
    "VERSION",
    "ARCHIVE",
    "DIGEST",
)
"""What `ci/build.sh` writes to build/image.env (docs/ci-scripts.md)."""

SCRIPT_TIMEOUT = 900.0


def is_build_call(words: list[str]) -> bool:
    """Whether a docker call (its words) builds an image, on any of the build paths."""
    return words[:1] == ["build"] or words[:2] == ["buildx", "build"]


@dataclass(frozen=True)
class ScriptRun:
    """One script run: its exit code, output, duration and every docker command it ran."""

    script: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    docker_calls: tuple[str, ...]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def build_calls(self) -> list[list[str]]:
        """The `docker build` and `docker buildx build` calls it ran, split into words."""
        return [words for words in map(str.split, self.docker_calls) if is_build_call(words)]

    def report(self) -> str:
        """The end of the output, for assertion messages."""
        head = f"{self.script} exited {self.returncode} after {self.seconds:.0f}s"
        return f"{head}\n{self.output[-6000:]}"


@dataclass(frozen=True)
class Build:
    """A finished `ci/build.sh`: what it wrote to build/image.env and how it ran."""

    image_env: dict[str, str]
    run: ScriptRun
    commit: str

    @property
    def image(self) -> str:
        return self.image_env["IMAGE"]


@dataclass(frozen=True)
class BuiltImage:
    """The image of the variant's CI build, with what `docker image inspect` says about it."""

    reference: str
    inspect: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.inspect["Config"])

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.get("Labels") or {})


class PipelineFailed(AssertionError):
    """A script that had to succeed did not."""


@dataclass
class Pipeline:
    """A rendered repository on the test bed, run as its CI would run it."""

    bed: Testbed
    variant: Variant
    repo: Path
    answers: dict[str, Any]
    standin: Standin
    image_name: str | None = None
    """IMAGE_NAME override; None keeps the rendered default `<registry>/<image_repository>`."""
    logs: Path = field(default_factory=lambda: Path(os.devnull))
    stack_env: Mapping[str, str] = field(default_factory=dict)
    """Overrides of the stack's own build inputs, set for every script on top of
    stacks.build_environment for this repository (which each run computes afresh, so a
    clone with changed source gets inputs of its own, e.g. its own artifact release)."""

    @classmethod
    def rendered(
        cls,
        bed: Testbed,
        variant: Variant,
        repo: Path,
        *,
        logs: Path = Path(os.devnull),
        image_name: str | None = None,
    ) -> Pipeline:
        """VARIANT rendered into REPO with the test bed's registry, committed, on its stand-in."""
        return cls(
            bed=bed,
            variant=variant,
            repo=repo,
            answers=render(variant, repo, bed.registry.host),
            standin=bed.standin(base_standin(variant.stack)),
            logs=logs,
            image_name=image_name,
        )

    @property
    def default_image_name(self) -> str:
        return f"{self.answers['registry']}/{self.answers['image_repository']}"

    @property
    def effective_image_name(self) -> str:
        return self.image_name or self.default_image_name

    @property
    def repository_path(self) -> str:
        """The image's repository path inside the test bed's registry."""
        return self.effective_image_name.removeprefix(f"{self.bed.registry.host}/")

    def clone(self, destination: Path, *, image_name: str | None) -> Pipeline:
        """An independent clone (for commits, tags and breakage) pushing to its own repository."""
        git(self.repo.parent, "clone", "-q", str(self.repo), str(destination))
        return replace(self, repo=destination, image_name=image_name)

    def head(self) -> str:
        return git(self.repo, "rev-parse", "HEAD")

    def commit(self, message: str) -> str:
        """Commit everything (or nothing: an empty commit) and return the new HEAD."""
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def environment(
        self, script: str, event: CiEvent | None, *, timestamp: int | None, docker_log: Path
    ) -> dict[str, str]:
        """What CI sets for the step that runs `script`, and the overrides the contract allows.

        That is the provider's variables for the event plus the literal `env:` of the
        rendered CI file's job and step; without an event, a developer's shell: neither.
        """
        ci: dict[str, str] = {}
        if event is not None:
            provider, repository_url = self.variant.provider, repository_web_url(self.variant)
            ci = providers.ci_environment(
                provider, event, commit=self.head(), repository_url=repository_url
            )
            ci.update(providers.job_environment(provider, self.repo, script))
        extra = {
            **ci,
            **build_environment(self.bed, self.variant.stack, self.repo),
            **self.stack_env,
            "BASE_IMAGE": self.standin.reference,
            "REGISTRY_TLS_VERIFY": "false",
            # A CI job with a signing key (the rendered files' keyless identities need
            # Sigstore's services, which cannot be reached here).
            **self.bed.signing_environment(),
            "IMGSCAFFOLD_DOCKER_LOG": str(docker_log),
        }
        if timestamp is not None:
            extra["BUILD_TIMESTAMP"] = str(timestamp)
        if self.image_name is not None:
            extra["IMAGE_NAME"] = self.image_name
        return self.bed.engine.environment(extra, base=providers.scrubbed(os.environ))

    def run(
        self,
        script: str,
        event: CiEvent | None,
        *args: str,
        timestamp: int | None = None,
        timeout: float = SCRIPT_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> ScriptRun:
        """Run one of the repository's scripts (e.g. `ci/build.sh`) as CI would.

        Without an event it runs as in a developer's shell: no CI variables at all.
        `env` adds variables the CI file would set for that step.
        """
        docker_log = self.bed.workdir / f"docker-calls-{time.monotonic_ns()}.log"
        env = {
            **self.environment(script, event, timestamp=timestamp, docker_log=docker_log),
            **(env or {}),
        }
        started = time.monotonic()
        try:
            done = subprocess.run(
                [f"./{script}", *args], cwd=self.repo, env=env, capture_output=True, text=True,
                timeout=timeout, check=False, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise PipelineFailed(f"{script} did not finish within {timeout:.0f}s") from exc
        calls = tuple(docker_log.read_text().splitlines()) if docker_log.exists() else ()
        docker_log.unlink(missing_ok=True)
        result = ScriptRun(
            script, done.returncode, done.stdout, done.stderr, time.monotonic() - started, calls
        )
        with self.logs.open("a") as log:
            log.write(
                f"===== {self.repo.name}: {script} {' '.join(args)} ({event})\n{result.report()}\n"
            )
        return result

    def must(
        self, script: str, event: CiEvent, *args: str, timestamp: int | None = None
    ) -> ScriptRun:
        """Run a script that has to succeed."""
        result = self.run(script, event, *args, timestamp=timestamp)
        if result.returncode != 0:
            raise PipelineFailed(result.report())
        return result

    def build(self, event: CiEvent, *, timestamp: int | None = None) -> Build:
        """`ci/build.sh`, which has to succeed and write build/image.env."""
        commit = self.head()
        result = self.must("ci/build.sh", event, timestamp=timestamp or int(time.time()))
        return Build(image_env=self.image_env(), run=result, commit=commit)

    def image_env(self) -> dict[str, str]:
        """build/image.env, read by sourcing it in a shell as the contract promises."""
        path = self.repo / "build" / "image.env"
        if not path.is_file():
            raise PipelineFailed("ci/build.sh wrote no build/image.env")
        keys = set(IMAGE_ENV_KEYS) | set(
            re.findall(r"^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=", path.read_text(), re.M)
        )
        printer = "; ".join(f'printf "%s=%s\\0" {k} "${{{k}-}}"' for k in sorted(keys))
        done = subprocess.run(
            ["bash", "-c", f'set -eu; . "$1"; {printer}', "bash", str(path)],
            capture_output=True, text=True, timeout=30, check=False, env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        if done.returncode != 0:
            raise PipelineFailed(f"build/image.env is not shell-sourceable: {done.stderr}")
        pairs = (item.split("=", 1) for item in done.stdout.split("\0") if item)
        return {key: value for key, value in pairs}
