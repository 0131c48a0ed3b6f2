"""The test bed: engine, registry and stand-ins for one test session or benchmark run."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.testbed.cleanup import all_volumes, sweep
from tests.e2e.testbed.engine import Engine, TestbedError, ensure_engine, run
from tests.e2e.testbed.registry import Registry, start_registry
from tests.e2e.testbed.standins import Standin, publish_standin

SIGNING_PASSWORD = "imgscaffold-testbed"
"""The password of the test bed's own cosign key (made per test bed, never kept)."""


@dataclass
class Testbed:
    """Engine, registry and stand-ins for one test session or benchmark run."""

    __test__ = False  # not a pytest test class, despite the name

    engine: Engine
    registry: Registry
    workdir: Path
    owns_engine: bool
    volumes_before: set[str] = field(default_factory=set)
    _standins: dict[str, Standin] = field(default_factory=dict)

    def standin(self, stack: str) -> Standin:
        """The stand-in base image of a stack, built or taken from the cache on first use."""
        if stack not in self._standins:
            self._standins[stack] = publish_standin(self.engine, self.registry, stack)
        return self._standins[stack]

    def signing_environment(self) -> dict[str, str]:
        """What a CI job that signs with a key sets: a cosign key pair made for this test
        bed on first use, its password, and no transparency log (none is reachable)."""
        key = self.workdir / "signing" / "cosign.key"
        if not key.is_file():
            key.parent.mkdir(parents=True, exist_ok=True)
            cosign = shutil.which("cosign")
            if cosign is None:
                raise TestbedError(
                    "cosign is not installed (on Debian 12: apt-get install cosign/trixie)"
                )
            run([cosign, "generate-key-pair"], cwd=key.parent, timeout=60,
                env={**os.environ, "COSIGN_PASSWORD": SIGNING_PASSWORD})  # fmt: skip
        return {
            "COSIGN_KEY": str(key),
            "COSIGN_PASSWORD": SIGNING_PASSWORD,
            "COSIGN_TLOG": "false",
        }

    def public_key(self) -> Path:
        """The public half of the signing key, as a consumer of the images gets it."""
        return Path(self.signing_environment()["COSIGN_KEY"]).with_suffix(".pub")

    def close(self) -> list[str]:
        """Sweep what the tests created, stop the registry and any engine started here."""
        try:
            problems = sweep(self.engine, self.registry.host, self.volumes_before)
        finally:
            self.registry.stop()
            if self.owns_engine:
                self.engine.stop()
            shutil.rmtree(self.workdir, ignore_errors=True)
        return problems


def open_testbed(engine: Engine | None = None) -> Testbed:
    """Start a registry (and, if needed, an engine). Raises EngineUnavailable or TestbedError."""
    workdir = Path(tempfile.mkdtemp(prefix="imgscaffold-testbed-"))
    owns_engine = engine is None
    try:
        engine = engine or ensure_engine(workdir)
        registry = start_registry(workdir)
    except BaseException:
        if owns_engine and engine is not None:
            engine.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return Testbed(
        engine=engine,
        registry=registry,
        workdir=workdir,
        owns_engine=owns_engine,
        volumes_before=all_volumes(engine),
    )


@contextlib.contextmanager
def testbed() -> Iterator[Testbed]:
    """A test bed for the length of a `with` block."""
    bed = open_testbed()
    try:
        yield bed
    finally:
        for problem in bed.close():
            print(f"testbed cleanup: {problem}", file=sys.stderr)
