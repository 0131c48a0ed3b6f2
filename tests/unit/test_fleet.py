"""Fleet updates: many repositories in mixed states, each with its own right outcome.

One `imgscaffold update --jobs 2 --commit --json FILE` run over 22 repositories: clean
ones are updated and committed, the rest fail or conflict without touching each other.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgscaffold.errors import InputFileError, UsageError
from imgscaffold.fleet.mirror import fetch_sources
from imgscaffold.fleet.runner import collect, run_all
from imgscaffold.fleet.update import Outcome, UpdateOptions, update_repository
from imgscaffold.generated import MARKER_FILE
from tests.helpers import (
    Template,
    commit_all,
    copy_repo,
    git,
    render,
    render_seeds,
    run_cli,
    status_lines,
)

BRANCH = "imgscaffold/template-v2.0.0"


def _dirty(repo: Path) -> None:
    (repo / "README.md").write_text("work in progress\n")


def _untracked(repo: Path) -> None:
    (repo / "scratch.txt").write_text("notes\n")


def _conflicting(repo: Path) -> None:
    dockerfile = repo / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("3.12-slim", "3.12-alpine"))
    commit_all(repo, "Use alpine")


def _broken_answers(repo: Path) -> None:
    (repo / ".copier-answers.yml").write_text("_src_path: [unclosed\n")
    commit_all(repo, "Break the answers")


def _no_answers(repo: Path) -> None:
    (repo / ".copier-answers.yml").unlink()
    commit_all(repo, "Forget the template")


def _not_git(repo: Path) -> None:
    shutil.rmtree(repo / ".git")


def _unreachable(repo: Path) -> None:
    answers = repo / ".copier-answers.yml"
    text = answers.read_text()
    answers.write_text(
        "".join(
            "_src_path: file:///nonexistent/template.git\n"
            if line.startswith("_src_path:")
            else line
            for line in text.splitlines(keepends=True)
        )
    )
    commit_all(repo, "Move the template")


def _interrupted(repo: Path) -> None:
    marker = Path(git(repo, "rev-parse", "--absolute-git-dir").strip()) / MARKER_FILE
    marker.write_text(json.dumps({"state": "running", "from": "v1.0.0", "to": "v2.0.0"}))
    (repo / "Dockerfile").write_text("FROM half-written\n")


#: (name, count, seed version, how to put it in its state, outcome, problem)
STATES: list[tuple[str, int, str, Callable[[Path], None] | None, str, str | None]] = [
    ("clean", 3, "v1.0.0", None, "updated", None),
    ("current", 4, "v2.0.0", None, "current", None),
    ("conflicting", 2, "v1.0.0", _conflicting, "conflict", "conflict"),
    ("dirty", 4, "v1.0.0", _dirty, "failed", "dirty-tree"),
    ("untracked", 2, "v1.0.0", _untracked, "failed", "untracked-files"),
    ("broken-answers", 2, "v1.0.0", _broken_answers, "failed", "answers-file"),
    ("no-answers", 1, "v1.0.0", _no_answers, "failed", "not-generated"),
    ("not-git", 1, "v1.0.0", _not_git, "failed", "not-generated"),
    ("unreachable", 2, "v1.0.0", _unreachable, "failed", "template-source"),
    ("interrupted", 1, "v1.0.0", _interrupted, "failed", "interrupted-update"),
]


@pytest.fixture(scope="module")
def fleet(template: Template, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("fleet")
    seeds = render_seeds(template, root / "seeds", "svc")
    repos: dict[Path, tuple[str, str, str | None]] = {}
    for name, count, ref, prepare, outcome, problem in STATES:
        for number in range(count):
            repo = copy_repo(seeds[ref], root / "repos" / f"{name}-{number}")
            if prepare is not None:
                prepare(repo)
            repos[repo] = (name, outcome, problem)
    before = {
        repo: (_head(repo), status_lines(repo) if (repo / ".git").exists() else None)
        for repo in repos
    }
    listing = root / "repositories.txt"
    listing.write_text("# the fleet\n" + "".join(f"repos/{r.name}\n" for r in repos))
    report = root / "report.json"
    done = run_cli(
        "update",
        "--from-file",
        str(listing),
        "--jobs",
        "2",
        "--commit",
        "--json",
        str(report),
        "--progress",
    )
    return {
        "repos": repos,
        "before": before,
        "done": done,
        "report": json.loads(report.read_text()),
    }


def _head(repo: Path) -> str | None:
    return git(repo, "rev-parse", "HEAD").strip() if (repo / ".git").exists() else None


def test_the_fleet_has_more_than_20_repositories(fleet: dict[str, Any]) -> None:
    assert len(fleet["repos"]) >= 20


def test_any_failure_or_conflict_makes_the_run_fail(fleet: dict[str, Any]) -> None:
    assert fleet["done"].returncode == 1
    assert "Traceback" not in fleet["done"].stderr


def test_each_repository_gets_its_own_outcome(fleet: dict[str, Any]) -> None:
    entries = {Path(e["path"]).name: e for e in fleet["report"]["repositories"]}
    assert len(entries) == len(fleet["repos"])
    for repo, (name, outcome, problem) in fleet["repos"].items():
        entry = entries[repo.name]
        assert (entry["outcome"], entry["problem"]) == (outcome, problem), (name, entry)


def test_the_report_sums_up(fleet: dict[str, Any]) -> None:
    summary = fleet["report"]["summary"]
    assert summary == {
        "total": 22,
        "conflict": 2,
        "current": 4,
        "failed": 13,
        "updated": 3,
    }
    assert fleet["report"]["command"] == "update"
    assert fleet["report"]["interrupted"] is False


def test_clean_repositories_are_committed_on_the_branch(fleet: dict[str, Any]) -> None:
    entries = {Path(e["path"]).name: e for e in fleet["report"]["repositories"]}
    for repo, (name, _, _) in fleet["repos"].items():
        if name != "clean":
            continue
        assert git(repo, "branch", "--show-current").strip() == BRANCH
        assert status_lines(repo) == []
        assert entries[repo.name]["commit"] == _head(repo)
        assert {"path": "NEW.md", "change": "added"} in entries[repo.name]["changed"]


def test_conflicts_are_listed_and_never_committed(fleet: dict[str, Any]) -> None:
    entries = {Path(e["path"]).name: e for e in fleet["report"]["repositories"]}
    for repo, (name, _, _) in fleet["repos"].items():
        if name != "conflicting":
            continue
        entry = entries[repo.name]
        assert [c["path"] for c in entry["conflicts"]] == ["Dockerfile"]
        assert entry["commit"] is None
        assert _head(repo) == fleet["before"][repo][0]
        assert git(repo, "branch", "--list", BRANCH).strip() == ""
        assert "<<<<<<< before updating" in (repo / "Dockerfile").read_text()


def test_failed_repositories_are_left_exactly_as_they_were(fleet: dict[str, Any]) -> None:
    for repo, (name, outcome, _) in fleet["repos"].items():
        if outcome != "failed":
            continue
        head, status = fleet["before"][repo]
        assert _head(repo) == head, name
        if status is not None:
            assert status_lines(repo) == status, name


def test_current_repositories_are_untouched(fleet: dict[str, Any]) -> None:
    for repo, (name, _, _) in fleet["repos"].items():
        if name == "current":
            assert _head(repo) == fleet["before"][repo][0]
            assert git(repo, "branch", "--show-current").strip() == "main"


def test_the_table_names_every_repository(fleet: dict[str, Any]) -> None:
    out = fleet["done"].stdout
    assert out.splitlines()[0].split() == [
        "repository",
        "from",
        "to",
        "outcome",
        "changed",
        "conflicts",
        "note",
    ]
    for repo in fleet["repos"]:
        assert f"repos/{repo.name} " in out
    assert out.rstrip().splitlines()[-1] == "3 updated, 4 current, 2 conflict, 13 failed"


def test_progress_is_a_line_per_repository_on_stderr(fleet: dict[str, Any]) -> None:
    lines = fleet["done"].stderr.splitlines()
    assert len(lines) == len(fleet["repos"])
    assert sum(": updated v1.0.0 -> v2.0.0 (" in line for line in lines) == 3
    assert sum(line.endswith(": already on v2.0.0") for line in lines) == 4


def test_the_interrupted_repository_says_how_to_recover(fleet: dict[str, Any]) -> None:
    (entry,) = (
        e for e in fleet["report"]["repositories"] if Path(e["path"]).name == "interrupted-0"
    )
    assert entry["recovery"][0].endswith("reset --hard HEAD")
    assert "discard them with: git -C " in entry["message"]


# --- finding the repositories -------------------------------------------------------------


def _generated(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / ".copier-answers.yml").write_text("_src_path: x\n_commit: v1.0.0\n")
    return path


def test_scan_finds_generated_repositories_and_skips_the_rest(tmp_path: Path) -> None:
    a = _generated(tmp_path / "team-a" / "orders")
    b = _generated(tmp_path / "team-b" / "billing")
    _generated(tmp_path / "team-a" / "orders" / "vendored" / "inner")  # inside a: not searched
    _generated(tmp_path / "node_modules" / "pkg")
    (tmp_path / "team-c" / "plain").mkdir(parents=True)
    assert collect([], scan=tmp_path) == [a, b]


def test_a_list_file_with_comments_relative_paths_and_duplicates(tmp_path: Path) -> None:
    listing = tmp_path / "fleet.txt"
    listing.write_text("# ours\n\norders\n  billing  \norders\n/abs/path\n")
    assert collect([tmp_path / "orders"], from_file=listing) == [
        tmp_path / "orders",
        tmp_path / "billing",
        Path("/abs/path"),
    ]


def test_the_current_folder_by_default() -> None:
    assert collect([]) == [Path(".")]


def test_nothing_found_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no repositories found under"):
        collect([], scan=tmp_path)
    with pytest.raises(InputFileError, match="does not exist"):
        collect([], from_file=tmp_path / "missing.txt")


# --- isolation ----------------------------------------------------------------------------


_CRASHING_TASK = """
import os


def crash_on_b(path):
    if path == "b":
        os._exit(1)
    return "done " + path
"""


def test_a_dying_worker_costs_only_its_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module of its own: spawned workers import it by name, and it imports next to nothing.
    (tmp_path / "crashing_task.py").write_text(_CRASHING_TASK)
    monkeypatch.syspath_prepend(str(tmp_path))
    from crashing_task import crash_on_b  # type: ignore[import-not-found]

    results, interrupted = run_all(
        crash_on_b,
        ["a", "b", "c", "d"],
        jobs=2,
        crashed=lambda path, why: f"crashed {path}: {why}",
    )
    assert not interrupted
    assert results[0] == "done a"
    assert results[1] == "crashed b: its worker process died"
    assert results[2:] == ["done c", "done d"]


# --- one fetch -----------------------------------------------------------------------------


def test_the_template_is_fetched_once_and_shared(template: Template, tmp_path: Path) -> None:
    moving = Template(tmp_path / "home" / "template.git", f"file://{tmp_path}/home/template.git")
    shutil.copytree(template.path, moving.path)
    repo = render(moving, tmp_path / "svc", service_name="svc")
    templates = fetch_sources([moving.url], tmp_path / "work")
    # From here on the template's home is gone: only the run's mirror can serve it.
    shutil.move(moving.path, tmp_path / "elsewhere")
    result = update_repository(str(repo), options=UpdateOptions(), templates=templates)
    assert result.outcome is Outcome.UPDATED, result.message
    answers = (repo / ".copier-answers.yml").read_text()
    assert f"_src_path: {moving.url}\n" in answers
    assert "_commit: v2.0.0\n" in answers
