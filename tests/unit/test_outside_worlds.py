"""The modules that speak to git and to copier's answers file: one wording, one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgscaffold import git, rendering
from imgscaffold.errors import GitError

HEADER = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"


def test_a_failing_git_command_names_itself_its_folder_and_what_git_said(tmp_path: Path) -> None:
    with pytest.raises(GitError) as raised:
        git.run(tmp_path, "rev-parse", "HEAD")
    message = str(raised.value)
    assert message.startswith(f"git rev-parse HEAD failed in {tmp_path}: ")
    assert "not a git repository" in message


def test_git_questions_are_answered_by_exit_code(tmp_path: Path) -> None:
    assert not git.succeeds(tmp_path, "rev-parse", "--git-dir")
    git.run(tmp_path, "init", "--quiet")
    assert git.succeeds(tmp_path, "rev-parse", "--git-dir")
    assert git.show(tmp_path, "HEAD", "missing.txt") is None


def test_branch_names_are_judged_by_git() -> None:
    assert git.is_branch_name("imgscaffold/template-v1.2.3")
    assert not git.is_branch_name("two..dots")
    assert not git.is_branch_name("-starts-with-a-dash")


def test_last_line_is_what_went_wrong() -> None:
    assert git.last_line("", "hint: x\nfatal: no such ref\n\n") == "fatal: no such ref"
    assert git.last_line(b"", "") == "no output"


def test_a_render_from_the_package_records_the_canonical_source_and_release(
    tmp_path: Path,
) -> None:
    answers = tmp_path / rendering.ANSWERS_FILE
    answers.write_text(f"{HEADER}_src_path: /tmp/x/template\n\nservice_name: orders\n")
    rendering.record_source(answers, "https://example.com/t.git", "v1.2.0")
    assert answers.read_text() == (
        f"{HEADER}_commit: v1.2.0\n_src_path: https://example.com/t.git\nservice_name: orders\n"
    )


def test_an_update_keeps_the_canonical_source_in_place(tmp_path: Path) -> None:
    answers = tmp_path / rendering.ANSWERS_FILE
    written = f"{HEADER}_commit: v2.0.0\n_src_path: /tmp/mirror.git\nservice_name: orders\n"
    answers.write_text(written)
    rendering.record_source(answers, "gh:org/template")
    assert answers.read_text() == written.replace("/tmp/mirror.git", "gh:org/template")


def test_drift_ignores_only_where_the_template_came_from() -> None:
    before = f"{HEADER}_commit: v1.0.0\n_src_path: a\nservice_name: orders\n".encode()
    after = f"{HEADER}_commit: v1.0.0\n_src_path: b\nservice_name: orders\n".encode()
    assert rendering.without_source(before) == rendering.without_source(after)
    assert rendering.without_source(before) != rendering.without_source(
        before.replace(b"orders", b"billing")
    )
