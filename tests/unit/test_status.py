"""`imgscaffold status`: each repository's template version, whether it is behind, its drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgscaffold.fleet.status import RepositoryStatus, StatusReport, statuses
from imgscaffold.generated import FileChange
from tests.helpers import Template, commit_all, copy_repo, git, render_seeds, run_cli


def _drifted(repo: Path) -> None:
    readme = repo / "README.md"
    readme.write_text(readme.read_text().replace("A service.", "A service that takes orders."))
    (repo / "compose.yaml").unlink()
    (repo / "ci" / "build.sh").chmod(0o644)
    (repo / "app").mkdir()
    (repo / "app" / "main.py").write_text("run()\n")  # the service's own code: not drift
    commit_all(repo, "Customise")


@pytest.fixture(scope="module")
def repos(template: Template, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("status")
    seeds = render_seeds(template, root / "seeds", "orders")
    repos = {
        "behind": copy_repo(seeds["v1.0.0"], root / "behind"),
        "current": copy_repo(seeds["v2.0.0"], root / "current"),
        "drifted": copy_repo(seeds["v2.0.0"], root / "drifted"),
        "dirty": copy_repo(seeds["v2.0.0"], root / "dirty"),
        "not-generated": root / "not-generated",
    }
    _drifted(repos["drifted"])
    (repos["dirty"] / "notes.txt").write_text("wip\n")
    repos["not-generated"].mkdir()
    git(repos["not-generated"], "init", "--quiet")
    return repos


@pytest.fixture(scope="module")
def report(repos: dict[str, Path]) -> StatusReport:
    return statuses(list(repos.values()), jobs=1)


def _status(report: StatusReport, repos: dict[str, Path], name: str) -> RepositoryStatus:
    (found,) = (s for s in report.results if s.path == str(repos[name]))
    return found


def test_a_repository_behind_the_latest_release(
    report: StatusReport, repos: dict[str, Path]
) -> None:
    status = _status(report, repos, "behind")
    assert (status.state, status.version, status.latest) == ("behind", "v1.0.0", "v2.0.0")
    assert status.releases_behind == 1
    assert status.drift == ()
    assert not status.dirty


def test_a_current_repository_without_drift(report: StatusReport, repos: dict[str, Path]) -> None:
    status = _status(report, repos, "current")
    assert (status.state, status.version, status.latest) == ("current", "v2.0.0", "v2.0.0")
    assert status.drift == ()


def test_drift_is_what_was_changed_by_hand_in_template_files(
    report: StatusReport, repos: dict[str, Path]
) -> None:
    status = _status(report, repos, "drifted")
    assert status.state == "current"
    assert status.drift == (
        FileChange("README.md", "modified"),
        FileChange("ci/build.sh", "modified"),
        FileChange("compose.yaml", "deleted"),
    )


def test_uncommitted_changes_are_flagged(report: StatusReport, repos: dict[str, Path]) -> None:
    status = _status(report, repos, "dirty")
    assert status.dirty
    assert status.drift == ()


def test_a_repository_that_cannot_be_checked(report: StatusReport, repos: dict[str, Path]) -> None:
    status = _status(report, repos, "not-generated")
    assert status.state == "error"
    assert status.problem == "not-generated"


def test_the_gates(report: StatusReport, repos: dict[str, Path]) -> None:
    def failing(*gates: str) -> set[str]:
        return {Path(s.path).name for s in report.failing(gates)}

    assert failing() == {"not-generated"}
    assert failing("behind") == {"behind", "not-generated"}
    assert failing("drift") == {"drifted", "not-generated"}
    assert failing("dirty") == {"dirty", "not-generated"}


def test_the_json_report(report: StatusReport, repos: dict[str, Path]) -> None:
    data = report.as_json({"behind"})
    assert data["command"] == "status"
    assert data["summary"] == {"total": 5, "behind": 1, "current": 3, "error": 1}
    assert data["failing"] == [str(repos["behind"]), str(repos["not-generated"])]
    drifted = next(r for r in data["repositories"] if r["path"] == str(repos["drifted"]))
    assert drifted["drift"][2] == {"path": "compose.yaml", "change": "deleted"}


def test_the_command_is_a_ci_gate(repos: dict[str, Path]) -> None:
    behind, current = str(repos["behind"]), str(repos["current"])
    done = run_cli("status", behind, current, "--no-drift", "--format", "json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert [r["state"] for r in data["repositories"]] == ["behind", "current"]
    assert data["repositories"][0]["drift"] is None
    assert run_cli("status", current, "--no-drift").returncode == 0
    assert run_cli("status", behind, "--no-drift", "--fail-on", "none").returncode == 0


def test_the_command_lists_the_drifted_files(repos: dict[str, Path]) -> None:
    done = run_cli("status", str(repos["drifted"]), "--fail-on", "drift")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["repository", "version", "latest", "state", "drift", "note"]
    assert "3 files" in lines[1] and "FAILS the gate" in lines[1]
    assert "  M README.md" in lines and "  D compose.yaml" in lines


def test_the_command_refuses_an_unknown_gate(repos: dict[str, Path]) -> None:
    done = run_cli("status", str(repos["current"]), "--fail-on", "late")
    assert done.returncode == 2
    assert done.stderr == (
        "imgscaffold: error: --fail-on takes a comma-separated list of behind, drift, dirty "
        "or none, got 'late'\n"
    )
