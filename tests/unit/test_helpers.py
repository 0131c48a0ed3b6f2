"""The shared helpers build what the tests rely on."""

from __future__ import annotations

import pytest

from tests.helpers import git, mini_template


def test_templates_are_tagged_v1_and_v2(tmp_path_factory: pytest.TempPathFactory) -> None:
    template = mini_template(tmp_path_factory)
    assert git(template.path, "tag", "--list").split() == ["v1.0.0", "v2.0.0"]
