"""Fixtures for the fast tests: render repositories through the library and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import NewRepository, create_repository
from tests.helpers import mini_template
from tests.unit import spread

#: The spread of answers being rendered in the background, when the session checks it.
PREPARED = pytest.StashKey[spread.Prepared]()


@pytest.fixture(scope="session", autouse=True)
def _spread_in_the_background(request: pytest.FixtureRequest) -> Iterator[None]:
    """Start rendering the spread with the first of these tests, when the session will
    check it (after the engine tests, when a session runs both, so their timings are
    not shared with it)."""
    if any(item.path.name == "test_rendered_files.py" for item in request.session.items):
        request.config.stash[PREPARED] = spread.start()
    yield
    prepared = request.config.stash.get(PREPARED, None)
    if prepared is not None:
        prepared.stop()


@pytest.fixture(scope="session")
def spread_rendered(request: pytest.FixtureRequest) -> tuple[spread.Renders, dict[str, str]]:
    """Every variant of the spread and shellcheck's verdicts on its scripts."""
    prepared = request.config.stash.get(PREPARED, None)
    if prepared is None:
        prepared = request.config.stash[PREPARED] = spread.start()
    return prepared.wait()


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
