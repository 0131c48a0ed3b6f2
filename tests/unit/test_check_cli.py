"""`imgscaffold check` from the command line: formats, exit codes, the ignore file, repo-review."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.helpers import REPO_ROOT, run_cli

CORPUS = REPO_ROOT / "tests" / "check_corpus"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the corpus's good repository, with one finding: a moving base tag."""
    path = tmp_path / "repo"
    shutil.copytree(CORPUS / "16-good", path)
    (path / "expected.json").unlink()
    dockerfile = path / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("3.12.8-slim-bookworm", "latest"))
    return path


def test_clean_repository_exits_0() -> None:
    done = run_cli("check", "--no-hadolint", str(CORPUS / "16-good"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: 0 error(s)" in done.stdout


def test_findings_exit_1_with_file_line_and_fix(repo: Path) -> None:
    done = run_cli("check", "--no-hadolint", str(repo))
    assert done.returncode == 1
    assert (
        "Dockerfile:3: IMG008 [error] FROM docker.io/library/python:latest uses the moving tag"
        in done.stdout
    )
    assert "Dockerfile:10: IMG008 [error]" in done.stdout
    assert "fix: Name a full version tag" in done.stdout
    assert (
        "see: https://imgscaffold.github.io/imgscaffold/guide/08-repeatable-builds/" in done.stdout
    )


def test_fail_on_threshold(tmp_path: Path) -> None:
    # Only info findings: IMG108 (base written out) fails at info, not at warning.
    path = tmp_path / "repo"
    shutil.copytree(CORPUS / "16-good", path)
    dockerfile = path / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "FROM ${BASE_IMAGE}\nRUN useradd", "FROM python:3.12.8-slim\nRUN useradd"
        )
    )
    assert run_cli("check", "--no-hadolint", str(path)).returncode == 0
    assert run_cli("check", "--no-hadolint", "--fail-on", "info", str(path)).returncode == 1
    assert (
        run_cli(
            "check", "--no-hadolint", "--fail-on", "never", str(CORPUS / "04-untagged-base")
        ).returncode
        == 0
    )


def test_usage_errors_exit_2(repo: Path) -> None:
    done = run_cli("check", "--fail-on", "sometimes", str(repo))
    assert done.returncode == 2 and "--fail-on" in done.stderr
    done = run_cli("check", str(repo / "missing"))
    assert done.returncode == 2 and "not a folder" in done.stderr


def test_ignore_file_with_reasons(repo: Path) -> None:
    (repo / ".imgscaffold-check.toml").write_text(
        '[[ignore]]\nrule = "IMG008"\nreason = "the registry mirror only has latest"\npath = '
        '"Dockerfile"\n'
    )
    done = run_cli("check", "--no-hadolint", "--format", "json", str(repo))
    assert done.returncode == 0, done.stdout
    data = json.loads(done.stdout)
    findings = data["targets"][0]["findings"]
    # Both stages use the base image; both findings are reported as ignored.
    assert [(f["rule"], f["line"]) for f in findings] == [("IMG008", 3), ("IMG008", 10)]
    assert {f["ignored"] for f in findings} == {"the registry mirror only has latest"}
    text = run_cli("check", "--no-hadolint", str(repo)).stdout
    assert "(ignored: the registry mirror only has latest)" in text and "2 ignored" in text


def test_ignore_without_reason_is_a_usage_error(repo: Path) -> None:
    (repo / ".imgscaffold-check.toml").write_text('ignore = [{ rule = "IMG008" }]\n')
    done = run_cli("check", str(repo))
    assert done.returncode == 2
    assert "needs a reason" in done.stderr


def test_json_sarif_markdown(repo: Path) -> None:
    data = json.loads(run_cli("check", "--no-hadolint", "--format", "json", str(repo)).stdout)
    assert data["failed"] is True
    finding = data["targets"][0]["findings"][0]
    assert {finding["rule"], finding["path"], finding["line"], finding["severity"]} == {
        "IMG008",
        "Dockerfile",
        3,
        "error",
    }
    sarif = json.loads(run_cli("check", "--no-hadolint", "--format", "sarif", str(repo)).stdout)
    assert sarif["version"] == "2.1.0"
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "IMG008" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    rule = sarif["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == "IMG008" and rule["helpUri"].endswith("/08-repeatable-builds/")
    markdown = run_cli("check", "--no-hadolint", "--format", "markdown", str(repo)).stdout
    assert (
        "| [IMG008](https://imgscaffold.github.io/imgscaffold/guide/08-repeatable-builds/) | error "
        "| `Dockerfile:3` |" in markdown
    )


def test_fleet_run_and_html_output(tmp_path: Path) -> None:
    listing = tmp_path / "repos.txt"
    entries = sorted(p for p in CORPUS.iterdir() if p.is_dir())
    listing.write_text("\n".join(str(p) for p in entries[1:]) + "\n")
    out = tmp_path / "fleet.html"
    done = run_cli(
        "check",
        "--no-hadolint",
        "--format",
        "html",
        "-o",
        str(out),
        "--from-file",
        str(listing),
        str(entries[0]),
    )
    assert done.returncode == 1 and done.stdout == ""
    text = out.read_text()
    assert text.count("<tr><td>") >= len(entries)
    markdown = run_cli(
        "check", "--no-hadolint", "--format", "markdown", *map(str, entries[:3])
    ).stdout
    assert "## Rules" in markdown and "| Rule | Title | Severity | Failing |" in markdown


def test_hadolint_findings_join_the_report(tmp_path: Path) -> None:
    if (
        shutil.which("hadolint", path=str(Path(sys.executable).parent)) is None
        and shutil.which("hadolint") is None
    ):
        pytest.skip("hadolint is not installed")
    path = tmp_path / "repo"
    shutil.copytree(CORPUS / "04-untagged-base", path)
    data = json.loads(run_cli("check", "--format", "json", str(path)).stdout)
    target = data["targets"][0]
    assert target["hadolint"] == "ran"
    hadolint = [f for f in target["findings"] if f["source"] == "hadolint"]
    assert {"DL3006", "DL3008"} <= {f["rule"] for f in hadolint}
    assert all(f["path"] == "Dockerfile" and f["line"] for f in hadolint)


def test_image_that_is_missing_or_without_docker(tmp_path: Path) -> None:
    done = run_cli("check", "--image", "app:1", env={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert done.returncode == 3 and "docker CLI" in done.stderr


def test_repo_review_runs_the_checks() -> None:
    from repo_review.testing import compute_check

    from imgscaffold.check.rules import repository

    good = repository(CORPUS / "16-good")
    assert compute_check("IMG012", imgscaffold_repo=good).result is True
    bad = compute_check("IMG012", imgscaffold_repo=repository(CORPUS / "08-no-healthcheck"))
    assert bad.result is False and "Dockerfile:7" in bad.err_msg
    assert bad.url == "https://imgscaffold.github.io/imgscaffold/guide/12-healthcheck/"
    binary = shutil.which("repo-review", path=str(Path(sys.executable).parent))
    assert binary is not None
    done = subprocess.run(
        [binary, "--format", "json", str(CORPUS / "16-good")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    checks = json.loads(done.stdout)["checks"]
    assert checks["IMG012"]["result"] is True and checks["IMG012"]["family"] == "dockerfile"


def test_pre_commit_hook_definition() -> None:
    hooks = YAML(typ="safe").load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "imgscaffold-check"
    assert hook["language"] == "python" and hook["entry"] == "imgscaffold check"
    assert hook["pass_filenames"] is False


def test_a_repository_list_is_read_like_update_and_status_read_it(tmp_path: Path) -> None:
    listing = tmp_path / "lists" / "repos.txt"
    listing.parent.mkdir()
    good = CORPUS / "16-good"
    # A relative entry is relative to the list file; '#' lines and blanks are skipped.
    relative = os.path.relpath(good, listing.parent)
    listing.write_text(f"# the fleet\n\n  {relative}  \n")
    done = run_cli("check", "--no-hadolint", "--format", "json", "--from-file", str(listing))
    assert done.returncode == 0, done.stdout + done.stderr
    missing = run_cli("check", "--from-file", str(tmp_path / "nothing.txt"))
    assert missing.returncode == 2
    assert "repository list" in missing.stderr and "does not exist" in missing.stderr
