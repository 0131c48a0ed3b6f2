"""With the real template: render at v1, update to v2, and get what a fresh v2 render gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import git, real_template, render, run_cli, status_lines, tree

ANSWERS = {"service_name": "orders", "registry": "localhost:5000", "service_port": 9090}


def test_an_update_converges_with_a_fresh_render(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    template = real_template(tmp_path_factory)
    repo = render(template, tmp_path / "updated" / "orders", "v1.0.0", **ANSWERS)

    done = run_cli("update", str(repo), "--branch", "template-{version}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"{repo}: template v1.0.0 -> v2.0.0: 3 files changed"
    assert "  A NEW.md" in done.stdout.splitlines()
    assert git(repo, "branch", "--show-current").strip() == "template-v2.0.0"
    assert status_lines(repo) == []

    fresh = render(template, tmp_path / "fresh" / "orders", "v2.0.0", **ANSWERS)
    assert tree(repo) == tree(fresh)
