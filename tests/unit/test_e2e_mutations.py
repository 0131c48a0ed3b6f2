"""The engine tests' mutations still name text the template has, so each can be applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.mutations import MUTATIONS, Mutation, mutated_template


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_mutation_applies(mutation: Mutation, tmp_path: Path) -> None:
    root = mutated_template(mutation, tmp_path)
    assert (root / "copier.yml").is_file()
