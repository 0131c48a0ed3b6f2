"""Updating keeps every local customisation or reports a conflict; nothing is lost silently.

One repository per kind of customisation, all rendered from the small template at v1.0.0,
customised and committed, then updated together to v2.0.0 (which also renames a question,
adds one and moves a file) with `--commit`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from imgscaffold.fleet.update import Outcome, UpdateOptions, UpdateResult, update_repositories
from imgscaffold.generated import read_marker
from tests.helpers import (
    Template,
    commit_all,
    copy_repo,
    git,
    render,
    status_lines,
    tree,
)

ANSWERS = {"service_name": "orders", "team_channel": "#orders"}
BRANCH = "imgscaffold/template-v2.0.0"


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _replace(path: Path, old: str, new: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert old in content
    path.write_text(content.replace(old, new), encoding="utf-8")


def _create(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _change_answer(repo: Path, **answers: str) -> None:
    """Change answers the supported way: an update to the same version with --data."""
    options = UpdateOptions(vcs_ref="v1.0.0", data=dict(answers))
    (result,) = update_repositories([repo], options, jobs=1).results
    assert result.outcome is Outcome.UPDATED, result.message


#: Each customisation, and the lines it adds that must survive (file, line).
CUSTOMISATIONS: dict[str, tuple[Callable[[Path], None], list[tuple[str, str]]]] = {
    "untouched": (lambda repo: None, []),
    "edited_elsewhere": (
        lambda repo: _replace(repo / "README.md", "A service.", "A service that takes orders."),
        [("README.md", "A service that takes orders.")],
    ),
    "edited_same_line": (
        lambda repo: _replace(repo / "Dockerfile", "python:3.12-slim", "python:3.12-alpine"),
        [("Dockerfile", "FROM docker.io/library/python:3.12-alpine")],
    ),
    "new_file": (
        lambda repo: _create(repo / "app" / "main.py", "run()\n"),
        [("app/main.py", "run()")],
    ),
    "deleted_file": (lambda repo: (repo / "compose.yaml").unlink(), []),
    "deleted_file_the_template_changes": (lambda repo: (repo / "ci" / "build.sh").unlink(), []),
    "changed_answer": (
        lambda repo: _change_answer(repo, service_port="9090"),
        [(".copier-answers.yml", "service_port: 9090"), ("Dockerfile", "EXPOSE 9090")],
    ),
    "hand_edited_answer": (
        lambda repo: _replace(
            repo / ".copier-answers.yml", "service_port: 8080", "service_port: 9090"
        ),
        [(".copier-answers.yml", "service_port: 9090")],
    ),
    "edited_moved_file": (
        lambda repo: _append(repo / "CONTACT.md", "Ask in #orders-oncall first.\n"),
        [("CONTACT.md", "Ask in #orders-oncall first.")],
    ),
    "same_new_file": (
        lambda repo: _create(repo / "NEW.md", "Our own notes.\n"),
        [("NEW.md", "Our own notes.")],
    ),
}


@pytest.fixture(scope="module")
def updated(
    template: Template, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, UpdateResult]]:
    root = tmp_path_factory.mktemp("customised")
    seed = render(template, root / "seed" / "orders", **ANSWERS)
    repos = {}
    for name, (customise, _) in CUSTOMISATIONS.items():
        repo = copy_repo(seed, root / name)
        customise(repo)
        if status_lines(repo):
            commit_all(repo, f"Customise: {name}")
        repos[name] = repo
    report = update_repositories(list(repos.values()), UpdateOptions(commit=True), jobs=2)
    return {name: (repos[name], result) for name, result in zip(repos, report.results, strict=True)}


def _answers(repo: Path) -> dict[str, object]:
    data = YAML(typ="safe").load((repo / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", sorted(CUSTOMISATIONS))
def test_nothing_is_lost_silently(updated: dict[str, tuple[Path, UpdateResult]], name: str) -> None:
    repo, result = updated[name]
    conflicted = {c.path for c in result.conflicts}
    for file, line in CUSTOMISATIONS[name][1]:
        kept = (repo / file).is_file() and line in (repo / file).read_text().splitlines()
        assert kept or file in conflicted, f"{name}: {file} lost {line!r}"
    assert result.outcome in (Outcome.UPDATED, Outcome.CONFLICT), result.message


@pytest.mark.parametrize(
    "name",
    [
        "untouched",
        "edited_elsewhere",
        "new_file",
        "deleted_file",
        "deleted_file_the_template_changes",
        "changed_answer",
    ],
)
def test_clean_updates_are_committed_on_a_branch(
    updated: dict[str, tuple[Path, UpdateResult]], name: str
) -> None:
    repo, result = updated[name]
    assert result.outcome is Outcome.UPDATED, result.message
    assert (result.from_version, result.to_version) == ("v1.0.0", "v2.0.0")
    assert result.branch == BRANCH
    assert git(repo, "branch", "--show-current").strip() == BRANCH
    assert git(repo, "rev-parse", "HEAD").strip() == result.commit
    assert status_lines(repo) == []
    assert read_marker(repo) is None
    subject = git(repo, "log", "-1", "--format=%s").strip()
    assert subject == "Update to image template v2.0.0 (from v1.0.0)"


def test_an_untouched_repository_converges_with_a_fresh_render(
    updated: dict[str, tuple[Path, UpdateResult]], template: Template, tmp_path: Path
) -> None:
    repo, _ = updated["untouched"]
    fresh = render(template, tmp_path / "orders", "v2.0.0", chat_channel="#orders", **_v2_answers())
    assert tree(repo) == tree(fresh)


def _v2_answers() -> dict[str, object]:
    return {k: v for k, v in ANSWERS.items() if k != "team_channel"}


def test_a_local_edit_and_a_template_change_to_other_lines_merge(
    updated: dict[str, tuple[Path, UpdateResult]],
) -> None:
    repo, _ = updated["edited_elsewhere"]
    readme = (repo / "README.md").read_text()
    assert "A service that takes orders." in readme
    assert "The platform team (see docs/CONTACT.md)." in readme
    assert "From the image template." in readme


def test_a_conflict_is_reported_and_never_committed(
    updated: dict[str, tuple[Path, UpdateResult]],
) -> None:
    repo, result = updated["edited_same_line"]
    assert result.outcome is Outcome.CONFLICT
    assert [c.path for c in result.conflicts] == ["Dockerfile"]
    assert result.branch is None and result.commit is None
    assert git(repo, "log", "-1", "--format=%s").strip() == "Customise: edited_same_line"
    assert git(repo, "branch", "--list", BRANCH).strip() == ""
    dockerfile = (repo / "Dockerfile").read_text()
    assert "<<<<<<< before updating" in dockerfile and ">>>>>>> after updating" in dockerfile
    assert "python:3.12-alpine" in dockerfile and "python:3.13-slim" in dockerfile
    marker = read_marker(repo)
    assert marker is not None and marker["state"] == "conflicts"
    assert result.recovery[0].endswith("reset --hard HEAD")


def test_new_and_deleted_files_stay_as_the_repository_has_them(
    updated: dict[str, tuple[Path, UpdateResult]],
) -> None:
    assert (updated["new_file"][0] / "app" / "main.py").read_text() == "run()\n"
    assert not (updated["deleted_file"][0] / "compose.yaml").exists()
    # The template changed ci/build.sh in v2; the repository had deleted it, and still has.
    assert not (updated["deleted_file_the_template_changes"][0] / "ci" / "build.sh").exists()


def test_a_changed_answer_is_kept(updated: dict[str, tuple[Path, UpdateResult]]) -> None:
    repo, _ = updated["changed_answer"]
    assert _answers(repo)["service_port"] == 9090
    assert "EXPOSE 9090" in (repo / "Dockerfile").read_text()
    assert "It listens on port 9090." in (repo / "README.md").read_text()
    assert (repo / "Dockerfile").read_text().startswith("FROM docker.io/library/python:3.13-slim")


def test_an_answer_edited_by_hand_is_kept(updated: dict[str, tuple[Path, UpdateResult]]) -> None:
    # Files rendered with the old answer read as local edits to copier: they stay, and
    # where the template changed the same lines the update reports a conflict.
    repo, result = updated["hand_edited_answer"]
    assert _answers(repo)["service_port"] == 9090
    assert result.outcome is Outcome.CONFLICT
    assert [c.path for c in result.conflicts] == ["Dockerfile"]


def test_a_renamed_question_keeps_its_answer(updated: dict[str, tuple[Path, UpdateResult]]) -> None:
    repo, _ = updated["untouched"]
    answers = _answers(repo)
    assert answers["chat_channel"] == "#orders"
    assert "team_channel" not in answers
    assert (repo / "docs" / "CONTACT.md").read_text() == "# Contact\n\nChannel: #orders\n"


def test_a_new_question_takes_its_default(updated: dict[str, tuple[Path, UpdateResult]]) -> None:
    repo, _ = updated["untouched"]
    assert _answers(repo)["log_level"] == "info"
    assert (repo / "NEW.md").read_text() == "Logs at level info for orders.\n"


def test_a_moved_file_moves_when_untouched(updated: dict[str, tuple[Path, UpdateResult]]) -> None:
    repo, _ = updated["untouched"]
    assert not (repo / "CONTACT.md").exists()
    assert (repo / "docs" / "CONTACT.md").is_file()


def test_a_moved_file_with_local_edits_is_kept_and_reported(
    updated: dict[str, tuple[Path, UpdateResult]],
) -> None:
    repo, result = updated["edited_moved_file"]
    assert result.outcome is Outcome.CONFLICT
    assert [c.path for c in result.conflicts] == ["CONTACT.md"]
    assert "moved or removed" in result.conflicts[0].reason
    assert "Ask in #orders-oncall first." in (repo / "CONTACT.md").read_text()
    assert (repo / "docs" / "CONTACT.md").is_file()
    assert result.commit is None


def test_a_local_file_where_the_template_adds_one_is_a_conflict(
    updated: dict[str, tuple[Path, UpdateResult]],
) -> None:
    repo, result = updated["same_new_file"]
    assert result.outcome is Outcome.CONFLICT
    assert [c.path for c in result.conflicts] == ["NEW.md"]
    assert "Our own notes." in (repo / "NEW.md").read_text()
