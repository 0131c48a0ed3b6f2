"""Fixtures of the engine tests: the engine, the test bed, and one CI build per variant.

Tests marked `engine` need a real Docker engine. Without one that answers or that can be
started here they are skipped with one reason; with IMGSCAFFOLD_REQUIRE_ENGINE=1 (CI) they
fail with that reason instead, so a broken CI machine cannot pass by skipping.

The expensive step, `ci/build.sh` on a freshly rendered repository, runs once per variant
(stack x CI provider, discovered from copier.yml); the checks share its image.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.pipeline import Build, BuiltImage, Pipeline
from tests.e2e.providers import branch_build
from tests.e2e.testbed.bed import Testbed, open_testbed
from tests.e2e.testbed.engine import Engine, EngineUnavailable, ensure_engine
from tests.e2e.variants import Variant, discover_variants

VARIANTS = discover_variants()
EVERY_PROVIDER = "every_provider"
#: `@pytest.mark.applies_to(predicate)`: the test is collected only for the variants for
#: which `predicate(variant)` is true, instead of skipping the others at run time.
APPLIES_TO = "applies_to"


REQUIRE_ENGINE = "IMGSCAFFOLD_REQUIRE_ENGINE"
ENGINE_KEY = pytest.StashKey["Engine | str"]()
WORKDIR_KEY = pytest.StashKey[Path]()


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engine: needs a real Docker engine and registry; "
        f"skipped without one unless {REQUIRE_ENGINE}=1",
    )
    config.addinivalue_line(
        "markers",
        f"{EVERY_PROVIDER}: runs for every CI provider; unmarked engine tests run for each "
        "stack's full variant only (tests/e2e/variants.py discover_variants)",
    )
    config.addinivalue_line(
        "markers",
        f"{APPLIES_TO}(predicate): collected only for the variants that predicate(variant) accepts",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out unmarked tests of variants that run the provider subset only, and tests
    of variants their `applies_to` marker does not accept."""
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        variant = callspec.params.get("variant") if callspec is not None else None
        applies_to = item.get_closest_marker(APPLIES_TO)
        if isinstance(variant, Variant) and (
            (not variant.full and item.get_closest_marker(EVERY_PROVIDER) is None)
            or (applies_to is not None and not applies_to.args[0](variant))
        ):
            left_out.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session")
def bed(engine: Engine) -> Iterator[Testbed]:
    """Our own loopback registry and stand-in base images on the session's engine."""
    testbed = open_testbed(engine)
    yield testbed
    for problem in testbed.close():
        warnings.warn(f"test bed cleanup: {problem}", stacklevel=1)


@pytest.fixture(scope="session", params=VARIANTS, ids=[v.id for v in VARIANTS])
def variant(request: pytest.FixtureRequest) -> Variant:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def script_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every script run's output, kept for reading after a failure."""
    return tmp_path_factory.mktemp("logs") / "scripts.log"


@pytest.fixture(scope="session")
def pipeline(
    bed: Testbed, variant: Variant, tmp_path_factory: pytest.TempPathFactory, script_log: Path
) -> Pipeline:
    """The variant rendered with the registry answer pointing at the test bed, committed on main."""
    repo = tmp_path_factory.mktemp(variant.id) / "repo"
    return Pipeline.rendered(bed, variant, repo, logs=script_log)


@pytest.fixture(scope="session")
def build_timestamp() -> int:
    return int(time.time())


@pytest.fixture(scope="session")
def ci_build(pipeline: Pipeline, build_timestamp: int) -> Build:
    """`ci/build.sh` for a push to main, once per variant."""
    return pipeline.build(branch_build("main"), timestamp=build_timestamp)


@pytest.fixture(scope="session")
def image(ci_build: Build, bed: Testbed) -> BuiltImage:
    data = json.loads(bed.engine.docker("image", "inspect", ci_build.image).stdout)
    return BuiltImage(reference=ci_build.image, inspect=data[0])


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A directory the container's non-root user can read when it is bind-mounted."""
    tmp_path.chmod(0o755)
    return tmp_path
