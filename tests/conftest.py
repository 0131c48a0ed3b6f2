"""Shared pytest setup: the `engine` marker, and what engine tests do without an engine.

Tests marked `engine` need a real Docker engine. Without one that answers or that can be
started here they are skipped with one reason; with IMGSCAFFOLD_REQUIRE_ENGINE=1 (CI) they
fail with that reason instead, so a broken CI machine cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # The engine tests import `tests.e2e.*` under any pytest import mode.
    sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.testbed import Engine, EngineUnavailable, ensure_engine  # noqa: E402

REQUIRE_ENGINE = "IMGSCAFFOLD_REQUIRE_ENGINE"
ENGINE_KEY = pytest.StashKey["Engine | str"]()
WORKDIR_KEY = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engine: needs a real Docker engine and registry; "
        f"skipped without one unless {REQUIRE_ENGINE}=1",
    )


def engine_or_reason(config: pytest.Config) -> Engine | str:
    """The engine for this session (found or started once), or why there is none."""
    if ENGINE_KEY not in config.stash:
        workdir = Path(tempfile.mkdtemp(prefix="imgscaffold-engine-"))
        config.stash[WORKDIR_KEY] = workdir
        try:
            config.stash[ENGINE_KEY] = ensure_engine(workdir)
        except EngineUnavailable as exc:
            config.stash[ENGINE_KEY] = str(exc)
    return config.stash[ENGINE_KEY]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("engine") is None:
        return
    found = engine_or_reason(item.config)
    if isinstance(found, Engine):
        return
    if os.environ.get(REQUIRE_ENGINE) == "1":
        pytest.fail(f"{REQUIRE_ENGINE}=1 but there is no Docker engine: {found}", pytrace=False)
    pytest.skip(f"no Docker engine: {found}")


@pytest.fixture(scope="session")
def engine(pytestconfig: pytest.Config) -> Engine:
    """The Docker engine; only engine-marked tests get here, after the check above."""
    found = engine_or_reason(pytestconfig)
    if not isinstance(found, Engine):
        pytest.fail(f"engine fixture used by a test not marked `engine`: {found}", pytrace=False)
    return found


def pytest_unconfigure(config: pytest.Config) -> None:
    found = config.stash.get(ENGINE_KEY, None)
    if isinstance(found, Engine):
        found.stop()
    workdir = config.stash.get(WORKDIR_KEY, None)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)
