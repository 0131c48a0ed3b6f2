"""Fixtures for the fast tests: render repositories through the library and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import NewRepository, create_repository
from tests.helpers import mini_template


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small template tagged v1.0.0 and v2.0.0, for the update, fleet and status tests."""
    return mini_template(tmp_path_factory)


@pytest.fixture
def render(tmp_path: Path) -> Callable[..., NewRepository]:
    """Render the embedded template non-interactively with the given answers."""

    def _render(name: str = "demo", **answers: Any) -> NewRepository:
        return create_repository(tmp_path / name, layers=AnswerLayers(cli=answers))

    return _render
