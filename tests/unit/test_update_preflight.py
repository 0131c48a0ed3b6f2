"""Before touching a repository, `imgscaffold update` says plainly why it cannot update it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imgscaffold.fleet.mirror import fetch_sources
from imgscaffold.fleet.update import Outcome, UpdateOptions, UpdateResult, update_repositories
from imgscaffold.generated import read_marker
from tests.helpers import (
    Template,
    commit_all,
    copy_repo,
    git,
    render_seeds,
    run_cli,
    status_lines,
)


@pytest.fixture(scope="module")
def seeds(template: Template, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("seeds")
    return render_seeds(template, root, "orders")


@pytest.fixture
def repo(seeds: dict[str, Path], tmp_path: Path) -> Path:
    """A clean repository at v1.0.0."""
    return copy_repo(seeds["v1.0.0"], tmp_path / "orders")


def _update(repo: Path, **options: Any) -> UpdateResult:
    (result,) = update_repositories([repo], UpdateOptions(**options), jobs=1).results
    return result


def _assert_untouched(repo: Path, before: list[str]) -> None:
    assert status_lines(repo) == before
    assert read_marker(repo) is None


def test_a_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    result = _update(tmp_path)
    assert result.outcome is Outcome.FAILED
    assert result.problem == "not-generated"
    assert result.message == f"{tmp_path} is not a git repository"


def test_a_repository_without_answers(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")
    (tmp_path / "README.md").write_text("hello\n")
    commit_all(tmp_path, "start")
    result = _update(tmp_path)
    assert result.problem == "not-generated"
    assert "was not generated from a template: it has no .copier-answers.yml" in result.message


def test_a_broken_answers_file(repo: Path) -> None:
    (repo / ".copier-answers.yml").write_text("_commit: [v1.0.0\n")
    commit_all(repo, "break the answers")
    result = _update(repo)
    assert result.problem == "answers-file"
    assert result.message.startswith(f".copier-answers.yml in {repo} cannot be read:")


def test_answers_without_a_version(repo: Path) -> None:
    answers = repo / ".copier-answers.yml"
    answers.write_text(
        "".join(
            line
            for line in answers.read_text().splitlines(keepends=True)
            if not line.startswith("_commit:")
        )
    )
    commit_all(repo, "forget the version")
    result = _update(repo)
    assert result.problem == "answers-file"
    assert "does not name its template version (_commit)" in result.message


def test_uncommitted_changes(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    before = status_lines(repo)
    result = _update(repo)
    assert result.problem == "dirty-tree"
    assert "has uncommitted changes (README.md); commit or stash them" in result.message
    _assert_untouched(repo, before)


def test_untracked_files(repo: Path) -> None:
    (repo / "notes.txt").write_text("mine\n")
    before = status_lines(repo)
    result = _update(repo)
    assert result.problem == "untracked-files"
    assert "has untracked files (notes.txt)" in result.message
    _assert_untouched(repo, before)


def test_an_unreachable_template(repo: Path, tmp_path: Path) -> None:
    answers = repo / ".copier-answers.yml"
    gone = f"file://{tmp_path}/gone/template.git"
    answers.write_text(
        "\n".join(
            f"_src_path: {gone}" if line.startswith("_src_path:") else line
            for line in answers.read_text().splitlines()
        )
        + "\n"
    )
    commit_all(repo, "point at a template that is gone")
    result = _update(repo)
    assert result.problem == "template-source"
    assert result.message.startswith(f"cannot reach template {gone}: ")
    _assert_untouched(repo, [])


def test_a_version_older_than_the_current_one(seeds: dict[str, Path], tmp_path: Path) -> None:
    repo = copy_repo(seeds["v2.0.0"], tmp_path / "orders")
    result = _update(repo, vcs_ref="v1.0.0")
    assert result.problem == "version"
    assert result.message == (
        "the repository is on template v2.0.0, newer than the requested v1.0.0; "
        "updates never go back"
    )


def test_a_version_that_does_not_exist(repo: Path, template: Template) -> None:
    result = _update(repo, vcs_ref="9.9.9")
    assert result.problem == "version"
    assert result.message == (
        f"template {template.url} has no version 9.9.9 (latest releases: v1.0.0, v2.0.0)"
    )


def test_a_version_given_without_its_v(template: Template, tmp_path: Path) -> None:
    source = fetch_sources([template.url], tmp_path / "work").source(template.url)
    assert source.resolve("2.0.0") == "v2.0.0"
    assert source.resolve("v1.0.0") == "v1.0.0"
    assert source.latest() == "v2.0.0"


def test_a_repository_ahead_of_the_latest_release_is_current(repo: Path) -> None:
    answers = repo / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: v1.0.0", "_commit: v3.0.0rc1"))
    commit_all(repo, "Try the next template")
    result = _update(repo)
    assert result.outcome is Outcome.CURRENT
    assert result.message == "on template v3.0.0rc1, newer than the latest release v2.0.0"


def test_an_unknown_question(repo: Path) -> None:
    result = _update(repo, data={"colour": "blue"})
    assert result.problem == "answer"
    assert result.message == (
        "unknown question(s) for template v2.0.0: colour; "
        "it asks service_name, service_port, chat_channel, log_level, team_channel"
    )
    _assert_untouched(repo, [])


def test_an_existing_branch(repo: Path) -> None:
    git(repo, "branch", "imgscaffold/template-v2.0.0")
    result = _update(repo, commit=True)
    assert result.problem == "branch-exists"
    _assert_untouched(repo, [])


def test_an_invalid_answer_leaves_the_repository_as_it_was(repo: Path) -> None:
    result = _update(repo, data={"log_level": "loud"})
    assert result.problem == "answer"
    assert "log_level" in result.message
    _assert_untouched(repo, [])


def test_a_current_repository_is_left_alone(seeds: dict[str, Path], tmp_path: Path) -> None:
    repo = copy_repo(seeds["v2.0.0"], tmp_path / "orders")
    head = git(repo, "rev-parse", "HEAD")
    result = _update(repo, commit=True)
    assert result.outcome is Outcome.CURRENT
    assert result.message == "already on template v2.0.0"
    assert git(repo, "rev-parse", "HEAD") == head


def test_the_command_says_why_in_one_line(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    done = run_cli("update", str(repo))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"imgscaffold: error: {repo} has uncommitted changes (README.md); "
        "commit or stash them and run again\n"
    )


def test_the_command_refuses_a_bad_branch_name(repo: Path) -> None:
    done = run_cli("update", str(repo), "--branch", "bad..name")
    assert done.returncode == 2
    assert (
        done.stderr == "imgscaffold: error: --branch 'bad..name' is not a valid git branch name\n"
    )
    assert status_lines(repo) == []


def test_the_command_in_a_folder_that_was_not_generated(tmp_path: Path) -> None:
    done = run_cli("update", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == "imgscaffold: error: . is not a git repository\n"
    assert "Traceback" not in done.stderr
