"""Every repository `imgscaffold new` renders passes every check, for every stack and provider."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ruamel.yaml import YAML

from imgscaffold.check.runner import check_path
from imgscaffold.create import NewRepository
from tests.helpers import REPO_ROOT

_QUESTIONS = YAML(typ="safe").load((REPO_ROOT / "copier.yml").read_text())


def _choices(question: str) -> list[str]:
    choices = _QUESTIONS[question]["choices"]
    return [str(v) for v in (choices.values() if isinstance(choices, dict) else choices)]


COMBINATIONS = [(s, p) for s in _choices("stack") for p in _choices("ci_provider")]


@pytest.mark.parametrize(
    ("stack", "provider"), COMBINATIONS, ids=[f"{s}-{p}" for s, p in COMBINATIONS]
)
def test_rendered_repository_passes_every_check(
    render: Callable[..., NewRepository], stack: str, provider: str
) -> None:
    created = render(f"{stack}-{provider}", stack=stack, ci_provider=provider)
    report = check_path(created.path)
    assert report.hadolint == "ran"
    problems = [f"{f.rule} {f.location}: {f.message}" for f in report.findings]
    assert problems == []
    # Every repository rule applies to a rendered repository, except the entrypoint
    # script rules where the entrypoint is the service's binary rather than a script.
    script_rules = {"IMG202", "IMG209"}
    if (created.path / "docker" / "entrypoint.sh").exists():
        assert report.skipped == {}
    else:
        assert set(report.skipped) <= script_rules


REAL_WORLD = {
    "description": 'Keeps Bob\'s "orders" & $HOME \\ paths; €-prices',
    "organisation": "Müller & Söhne GmbH",
    "maintainer_name": "Zoë O'Brien",
    "maintainer_email": "zoe.o'brien@example.com",
    "repository_url": "git@github.com:platform/orders.git",
    "health_path": "/healthz?probe=docker&full=1",
    "data_dir": "/srv/my data",
    "license": "MIT OR Apache-2.0",
}


@pytest.mark.parametrize("stack", _choices("stack"))
def test_real_world_answers_pass_every_check(
    render: Callable[..., NewRepository], stack: str
) -> None:
    """Quoted values (a data directory with a space, quotes in labels) read back right."""
    created = render(f"real-{stack}", stack=stack, **REAL_WORLD)
    report = check_path(created.path)
    problems = [f"{f.rule} {f.location}: {f.message}" for f in report.findings]
    assert problems == []
