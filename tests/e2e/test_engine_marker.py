"""Without a Docker engine the engine tests skip with one reason, or fail when it is required."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.variants import discover_variants

REPO_ROOT = Path(__file__).resolve().parents[2]
NO_ENGINE = "unix:///nonexistent/imgscaffold-e2e.sock"
# One item: the test for the first variant (every stack x provider gets its own item).
ONE_ENGINE_TEST = (
    "tests/e2e/test_image.py::test_row1_runs_as_a_numeric_non_root_user"
    f"[{discover_variants()[0].id}]"
)


def run_pytest_without_engine(*, require: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": NO_ENGINE}
    env.pop("IMGSCAFFOLD_REQUIRE_ENGINE", None)
    if require:
        env["IMGSCAFFOLD_REQUIRE_ENGINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ONE_ENGINE_TEST],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_engine_tests_skip_with_the_reason_without_an_engine() -> None:
    done = run_pytest_without_engine(require=False)
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert f"no Docker engine: DOCKER_HOST={NO_ENGINE} does not answer" in done.stdout


def test_engine_tests_fail_without_an_engine_when_required() -> None:
    done = run_pytest_without_engine(require=True)
    assert done.returncode == 1, done.stdout
    assert (
        f"IMGSCAFFOLD_REQUIRE_ENGINE=1 but there is no Docker engine: DOCKER_HOST={NO_ENGINE}"
        in done.stdout
    )
