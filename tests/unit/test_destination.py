"""Where `imgscaffold new` writes: any DEST a user may type, nothing written elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")


def _env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment, with a temporary folder of its own to prove it is left empty."""
    staging = tmp_path / "tmpdir"
    staging.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(staging)}


def _refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("imgscaffold: error:")]
    assert len(errors) == 1, done.stderr
    assert message in errors[0], errors[0]


def _tracked(repo: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


def test_dot_in_an_empty_folder_renders_in_place(tmp_path: Path) -> None:
    here = tmp_path / "orders"
    here.mkdir()
    inode = here.stat().st_ino
    done = run_cli("new", "--defaults", cwd=here, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "Created image repository ." in done.stdout
    # The folder itself is the same one: a shell standing in it keeps working.
    assert here.stat().st_ino == inode
    assert (here / "Dockerfile").is_file() and "Dockerfile" in _tracked(here)
    assert "service_name: orders" in (here / ".copier-answers.yml").read_text()
    assert list((tmp_path / "tmpdir").iterdir()) == []


def test_a_link_to_an_empty_folder_fills_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    done = run_cli("new", str(tmp_path / "link"), "--defaults", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "link").is_symlink()
    assert (target / "Dockerfile").is_file()


def test_a_dangling_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    _refused(run_cli("new", str(tmp_path / "link"), "--defaults"), "does not exist")
    assert not (tmp_path / "nowhere").exists()


def test_a_file_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    _refused(run_cli("new", str(tmp_path / "f"), "--defaults", "--force"), "not a folder")
    assert (tmp_path / "f").read_text() == "x"


def test_a_read_only_parent_is_refused_for_a_user(tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    command = ["new", str(parent / "orders"), "--defaults"]
    if os.geteuid() == 0:
        # root writes anywhere; run the CLI as an ordinary user, as the finding was.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv is needed to run as another user")
        for folder in (tmp_path, *tmp_path.parents):
            folder.chmod(folder.stat().st_mode | 0o011)
        parent.chmod(0o555)
        done = subprocess.run(
            [
                setpriv,
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-m",
                "imgscaffold",
                *command,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "HOME": str(tmp_path), "TMPDIR": "/tmp"},
        )
    else:
        parent.chmod(0o555)
        done = run_cli(*command)
    _refused(done, "permission denied")
    assert list(parent.iterdir()) == []


def test_dotdot_with_force_renders_into_that_folder_and_leaves_no_staging(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "NOTES.txt").write_text("mine\n")
    env = _env(tmp_path)
    done = run_cli("new", str(project / "sub" / ".."), "--defaults", "--force", env=env)
    assert done.returncode == 0, done.stderr
    assert (project / "Dockerfile").is_file()
    assert "service_name: project" in (project / ".copier-answers.yml").read_text()
    assert list((tmp_path / "tmpdir").iterdir()) == []


def test_dotdot_inside_dest_leaves_no_folder_behind(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    done = run_cli("new", "a/../../x", "--defaults", cwd=work)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x" / "Dockerfile").is_file()
    assert list(work.iterdir()) == []


def test_a_dest_that_starts_with_a_dash_says_how(tmp_path: Path) -> None:
    done = run_cli("new", "-orders", "--defaults", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "put '--' before it: imgscaffold new -- -orders" in done.stderr
    done = run_cli("new", "--defaults", "--", "-orders", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "-orders" / "Dockerfile").is_file()


def test_force_commits_only_the_rendered_files(tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / ".env").write_text("API_TOKEN=secret\n")
    (dest / "deploy.key").write_text("-----BEGIN KEY-----\n")
    (dest / "README.md").write_text("the team's own readme\n")
    done = run_cli("new", str(dest), "--defaults", "--force")
    assert done.returncode == 0, done.stderr
    tracked = _tracked(dest)
    assert "Dockerfile" in tracked and "README.md" in tracked
    assert ".env" not in tracked and "deploy.key" not in tracked
    assert (dest / ".env").read_text() == "API_TOKEN=secret\n"
    summary = " ".join(done.stdout.split())
    assert "Replaced by the template (1): README.md" in summary
    assert "left untracked, not committed (2): .env, deploy.key" in summary


def test_force_into_a_repository_keeps_what_is_staged_there(tmp_path: Path) -> None:
    dest = tmp_path / "repo"
    dest.mkdir()
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    (dest / "work.txt").write_text("in progress\n")
    subprocess.run(["git", "add", "work.txt"], cwd=dest, check=True)
    done = run_cli("new", str(dest), "--defaults", "--force")
    assert done.returncode == 0, done.stderr
    committed = subprocess.run(
        ["git", "show", "--name-only", "--format=", "HEAD"],
        cwd=dest,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "Dockerfile" in committed and "work.txt" not in committed
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=dest, capture_output=True, text=True, check=True
    ).stdout
    assert "A  work.txt" in status
