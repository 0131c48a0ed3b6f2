"""Every command ends an operating-system error with one line and an exit code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import create_repository
from imgscaffold.template import questions
from tests.helpers import run_cli

COMMANDS = ["new", "update", "status", "check"]


def _one_line(done: subprocess.CompletedProcess[str], message: str, code: int) -> None:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("imgscaffold: error:")]
    assert errors == [line for line in done.stderr.splitlines() if line.strip()], done.stderr
    assert len(errors) == 1 and message in errors[0], done.stderr


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is needed")
    return create_repository(tmp_path_factory.mktemp("repo") / "orders", layers=AnswerLayers()).path


@pytest.mark.parametrize("command", COMMANDS)
def test_a_vanished_current_folder_is_one_line(command: str, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    # A shell whose folder was removed under it, then the command.
    script = f"cd {gone} && rmdir {gone} && exec {sys.executable} -m imgscaffold {command}" + (
        " --defaults" if command == "new" else ""
    )
    done = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    code = 2 if command == "new" else 74
    _one_line(done, "the current folder no longer exists", code)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ["status", "--json", "/dev/full"],
        ["update", "--json", "/dev/full"],
        ["check", "--output", "/dev/full"],
    ],
    ids=["status", "update", "check"],
)
def test_a_full_disk_is_one_line(args: list[str], generated: Path) -> None:
    done = run_cli(*args, str(generated))
    _one_line(done, "cannot write /dev/full: No space left on device", 74)


def test_a_report_that_cannot_be_written_is_one_line(generated: Path, tmp_path: Path) -> None:
    done = run_cli("status", "--json", str(tmp_path / "no" / "such" / "x.json"), str(generated))
    _one_line(done, "No such file or directory", 74)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_names_a_person_reads(command: str) -> None:
    done = run_cli(command, "--help", env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0
    for python_name in ("<path>", "<list", "list[", "<Path>", "<str>"):
        assert python_name not in done.stdout, f"{command} --help shows {python_name}"
    assert re.search(r"^Usage: imgscaffold \w+ \[OPTIONS\] \[(DEST|PATH)\]", done.stdout, re.M)


def test_list_questions_names_every_key_with_its_default(tmp_path: Path) -> None:
    done = run_cli("new", str(tmp_path / "orders"), "--list-questions")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "orders").exists()
    for question in questions():
        assert re.search(rf"^{question.name}=", done.stdout, re.M), question.name
    assert re.search(r"^service_name=orders$", done.stdout, re.M)
    assert re.search(r"^service_port=8080$", done.stdout, re.M)
    assert "Asked only when stack == 'artifact'" in done.stdout
