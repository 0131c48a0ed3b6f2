"""Fixtures for the fast tests: render repositories through the library and the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import NewRepository, create_repository

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small template tagged v1.0.0 and v2.0.0, for the update, fleet and status tests."""
    # Imported here: the support module itself imports REPO_ROOT from this one.
    from .test_update_support import mini_template

    return mini_template(tmp_path_factory)


@pytest.fixture
def render(tmp_path: Path) -> Callable[..., NewRepository]:
    """Render the embedded template non-interactively with the given answers."""

    def _render(name: str = "demo", **answers: Any) -> NewRepository:
        return create_repository(tmp_path / name, layers=AnswerLayers(cli=answers))

    return _render


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "imgscaffold", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
