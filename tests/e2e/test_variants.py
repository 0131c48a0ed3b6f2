"""The engine tests cover every variant copier.yml offers (no engine needed to check that)."""

from __future__ import annotations

import pytest

from tests.e2e import providers
from tests.e2e.providers import branch_build, pull_request_build, release_build
from tests.e2e.stacks import base_standin
from tests.e2e.testbed.standins import STANDIN_PACKAGES
from tests.e2e.variants import discover_variants, question_choices


def test_every_stack_runs_in_full_and_every_provider_runs_its_subset() -> None:
    variants = discover_variants()
    stacks, provider_names = question_choices("stack"), question_choices("ci_provider")
    assert stacks and provider_names
    assert {v.stack for v in variants if v.full} == set(stacks)
    assert {v.provider for v in variants if v.full} == {provider_names[0]}
    assert {v.provider for v in variants} == set(provider_names)
    if len(provider_names) > 1:
        others = {}
        for v in variants:
            if not v.full:
                others.setdefault(v.stack, []).append(v.provider)
        assert set(others) == set(stacks), "a stack meets no provider but the first"
    assert len({v.id for v in variants}) == len(variants)


def test_all_providers_in_full_is_every_stack_with_every_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMGSCAFFOLD_E2E_ALL_PROVIDERS", "1")
    variants = discover_variants()
    stacks, provider_names = question_choices("stack"), question_choices("ci_provider")
    assert len(variants) == len(stacks) * len(provider_names)
    assert all(v.full for v in variants)


def test_every_ci_provider_is_simulated() -> None:
    for provider in question_choices("ci_provider"):
        for event in (branch_build("main"), pull_request_build(7), release_build("v1.2.3")):
            environment = providers.ci_environment(
                provider, event, commit="0" * 40, repository_url="https://example.org/team/app"
            )
            assert environment, f"{provider} sets no variables for {event}"


def test_every_stack_has_a_stand_in_base_image() -> None:
    missing = [
        stack for stack in question_choices("stack") if base_standin(stack) not in STANDIN_PACKAGES
    ]
    assert not missing, (
        f"give {missing} stand-in packages (standin.packages in their stack.toml)"
        " or name a shared stand-in (standin.base)"
    )


def test_an_unknown_provider_fails_loudly() -> None:
    with pytest.raises(providers.UnknownProvider, match=r"tests/e2e/providers\.py"):
        providers.ci_environment(
            "nowhere", branch_build(), commit="0" * 40, repository_url="https://x.org/a/b"
        )
