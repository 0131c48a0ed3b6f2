"""An update killed half-way leaves a repository that git restores, and the next run says how.

The kill lands at the worst moment: copier has written the new template's files over the
repository's and is about to re-apply the local changes (`git apply`). A `git` on PATH
that stops there makes the moment certain.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgscaffold.generated import read_marker
from tests.helpers import commit_all, git, mini_template, render, run_cli, status_lines, tree

_STOPPING_GIT = """#!/bin/sh
if [ "$1" = "apply" ]; then
    : > "{flag}"
    sleep 60
fi
exec "{git}" "$@"
"""


def _stopping_git(bin_dir: Path, flag: Path) -> dict[str, str]:
    real = shutil.which("git")
    assert real is not None
    bin_dir.mkdir()
    shim = bin_dir / "git"
    shim.write_text(_STOPPING_GIT.format(flag=flag, git=real))
    shim.chmod(0o755)
    # Temporary folders of the killed process stay behind; keep them in the test's own.
    tmp = bin_dir.parent / "tmp"
    tmp.mkdir()
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp),
    }


def _kill_when(flag: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not flag.exists():
        assert process.poll() is None, "the update finished before it could be interrupted"
        assert time.monotonic() < deadline, "the update never reached `git apply`"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_a_killed_update_is_recoverable(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    template = mini_template(tmp_path_factory)
    repo = render(template, tmp_path / "orders", service_name="orders")
    readme = repo / "README.md"
    readme.write_text(readme.read_text().replace("A service.", "A service that takes orders."))
    commit_all(repo, "Describe the service")
    committed = tree(repo)

    flag = tmp_path / "reached-git-apply"
    env = _stopping_git(tmp_path / "bin", flag)
    process = subprocess.Popen(
        [sys.executable, "-m", "imgscaffold", "update", str(repo), "--commit"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _kill_when(flag, process)

    # Half-way: the new template's files are in, the local edit is not back yet.
    assert status_lines(repo) != []
    assert "A service that takes orders." not in readme.read_text()
    assert git(repo, "branch", "--show-current").strip() == "main"
    marker = read_marker(repo)
    assert marker is not None and marker["state"] == "running" and marker["to"] == "v2.0.0"

    done = run_cli("update", str(repo))
    assert done.returncode == 1
    prefix = (
        f"imgscaffold: error: an update of {repo} to v2.0.0 was interrupted half-way and "
        "left changes; discard them with: "
    )
    assert done.stderr.startswith(prefix), done.stderr
    commands = done.stderr.splitlines()[0].removeprefix(prefix)
    assert commands == f"git -C {repo} reset --hard HEAD && git -C {repo} clean -fd"

    subprocess.run(commands, shell=True, check=True, capture_output=True)
    assert status_lines(repo) == []
    assert tree(repo) == committed

    done = run_cli("update", str(repo), "--commit")
    assert done.returncode == 0, done.stderr
    assert "A service that takes orders." in readme.read_text()
    assert read_marker(repo) is None
    assert git(repo, "log", "-1", "--format=%s").strip() == (
        "Update to image template v2.0.0 (from v1.0.0)"
    )
