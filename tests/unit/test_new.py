"""`imgscaffold new`: what it writes, and what it refuses without writing anything."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from imgscaffold import __version__
from imgscaffold.create import NewRepository
from tests.helpers import REPO_ROOT, run_cli, run_cli_in_process


def _answers(repo: Path) -> dict[str, object]:
    data = YAML(typ="safe").load((repo / ".copier-answers.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_defaults_render_a_committed_repository(tmp_path: Path) -> None:
    done = run_cli("new", str(tmp_path / "demo"), "--defaults")
    assert done.returncode == 0, done.stderr
    repo = tmp_path / "demo"
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--oneline"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(log) == 1
    status = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == ""
    assert "Next steps" in done.stdout


def test_answers_point_at_the_canonical_template_and_release_tag(tmp_path: Path) -> None:
    env = {**os.environ, "IMGSCAFFOLD_CANONICAL_SOURCE": "https://git.example.com/p/tpl.git"}
    done = run_cli("new", str(tmp_path / "demo"), "--defaults", env=env)
    assert done.returncode == 0, done.stderr
    answers = _answers(tmp_path / "demo")
    assert answers["_src_path"] == "https://git.example.com/p/tpl.git"
    assert answers["_commit"] == f"v{__version__}"
    text = (tmp_path / "demo" / ".copier-answers.yml").read_text()
    assert text.index("_commit:") < text.index("_src_path:") < text.index("base_image:")


def test_service_name_defaults_to_the_folder_name(render: Callable[..., NewRepository]) -> None:
    result = render("My_Orders.Service")
    assert result.answers["service_name"] == "my-orders-service"


def test_layers_preset_data_file_and_data(tmp_path: Path) -> None:
    preset = tmp_path / "preset.yml"
    preset.write_text("organisation: ACME\nregistry: reg.acme.test\nlicense: MIT\n")
    data_file = tmp_path / "data.yml"
    data_file.write_text("registry: reg2.acme.test\nservice_port: 9000\n")
    done = run_cli(
        "new",
        str(tmp_path / "svc"),
        "--defaults",
        "--preset",
        str(preset),
        "--data-file",
        str(data_file),
        "--data",
        "service_port=9100",
    )
    assert done.returncode == 0, done.stderr
    answers = _answers(tmp_path / "svc")
    assert answers["organisation"] == "ACME"
    assert answers["license"] == "MIT"
    assert answers["registry"] == "reg2.acme.test"
    assert answers["service_port"] == 9100
    assert answers["image_repository"] == "acme/svc"


def test_preset_from_the_environment(tmp_path: Path) -> None:
    preset = tmp_path / "org.yml"
    preset.write_text("organisation: Globex\n")
    env = {**os.environ, "IMGSCAFFOLD_PRESET": str(preset)}
    done = run_cli("new", str(tmp_path / "svc"), "--defaults", env=env)
    assert done.returncode == 0, done.stderr
    assert _answers(tmp_path / "svc")["organisation"] == "Globex"


def test_force_renders_into_a_folder_with_content(tmp_path: Path) -> None:
    dest = tmp_path / "existing"
    dest.mkdir()
    (dest / "NOTES.txt").write_text("keep me\n")
    done = run_cli("new", str(dest), "--defaults", "--force")
    assert done.returncode == 0, done.stderr
    assert (dest / "NOTES.txt").read_text() == "keep me\n"
    assert (dest / ".copier-answers.yml").is_file()


def test_empty_existing_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert run_cli("new", str(tmp_path / "empty"), "--defaults").returncode == 0


def _assert_refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("imgscaffold: error:")]
    assert len(lines) == 1, done.stderr
    assert message in lines[0], lines[0]


BAD_ANSWERS = [
    ("service_name=orders;rm -rf /", "service_name"),
    ("service_name=Orders", "service_name"),
    ("service_name=a/b", "service_name"),
    ("service_name=../x", "service_name"),
    ("service_name=" + "a" * 64, "at most 63"),
    ("description=line\nbreak", "control characters"),
    ("description=ends with a newline\n", "line break (\\n) at the end"),
    ("service_name=orders\n", "control characters"),
    ("data_dir=/data\n", "control characters"),
    ("registry=registry.example.com\r", "control characters"),
    ("license=MIT\t", "control characters"),
    # (A NUL cannot reach a command line; tests/unit/test_answer_values.py feeds it.)
    ("health_path=/healthz\x1b", "U+001B"),
    ("license=GPL-2", "Unknown license"),
    ("license=MIT WITH MIT", "license exception"),
    ("license=MIT OR", "license"),
    ("maintainer_email=a b@example.com", "maintainer_email"),
    ("registry=[::1", "registry"),
    ("registry=[example]:5000", "registry"),
    ("repository_url=git@github.com", "repository_url"),
    ("repository_url=https://github.com", "repository_url"),
    ("health_path=/a?b c", "health_path"),
    ("data_dir=/data /x", "data_dir"),
    ("data_dir= /data", "data_dir"),
    ("description=" + "x" * 201, "at most 200"),
    ("maintainer_email=not-an-email", "maintainer_email"),
    ("maintainer_email=a@b", "maintainer_email"),
    ("license=GPL", "license"),
    ("license=MIT; echo", "license"),
    ("service_port=80", "service_port"),
    ("service_port=70000", "service_port"),
    ("service_port=http", "service_port"),
    ("base_image=python:latest", "moving tag"),
    ("base_image=python", "immutable"),
    ("base_image=Python:3.12", "image reference"),
    ("base_image=python:3.12 ; ls", "image reference"),
    ("registry=https://registry.example.com", "registry"),
    ("registry=bad host", "registry"),
    ("image_repository=Team/App", "image_repository"),
    ("image_repository=team//app", "image_repository"),
    ("health_path=healthz", "health_path"),
    ("health_path=/a b", "health_path"),
    ("data_dir=data", "data_dir"),
    ("data_dir=/etc/app", "system directory"),
    ("data_dir=/data/../etc", "data_dir"),
    ("stack=cobol", "stack"),
    ("ci_provider=travis", "ci_provider"),
    ("repository_url=http://x.example.com/a", "repository_url"),
    ("repository_url=https://x.example.com/a b", "repository_url"),
    ("artifact_url=http://artifacts.example.com/a-{version}.tar.gz", "artifact_url"),
    ("artifact_url=https://artifacts.example.com/a.tar.gz", "{version}"),
    ("artifact_url=https://artifacts.example.com/a-{ver}-{version}.tar.gz", "braces"),
    ("artifact_url=https://x.example.com/a-{version}.tgz;rm -rf /", "artifact_url"),
    ("artifact_url=https://x.example.com/$(id)/a-{version}.tgz", "artifact_url"),
    ("artifact_version=latest", "artifact_version"),
    ("artifact_version=1.0 0", "artifact_version"),
    ("artifact_version=../1", "artifact_version"),
    ("artifact_version=-1", "artifact_version"),
    ("artifact_sha256=abc123", "artifact_sha256"),
    ("artifact_sha256=" + "A" * 64, "64 lower-case hex digits"),
    ("artifact_sha256=" + "0" * 63 + "g", "artifact_sha256"),
]


#: Refusals that also go through a child process, as a user's shell starts the command.
BAD_ANSWERS_IN_A_CHILD = [
    ("service_name=orders;rm -rf /", "service_name"),
    ("description=line\nbreak", "control characters"),
    ("base_image=python:latest", "moving tag"),
]


#: In this process through `cli.main`, or in a child process as a user's shell starts it.
RUNNERS = {"in-process": run_cli_in_process, "child": run_cli}


@pytest.mark.parametrize(
    ("runner", "assignment", "message"),
    [("in-process", *case) for case in BAD_ANSWERS]
    + [("child", *case) for case in BAD_ANSWERS_IN_A_CHILD],
)
def test_invalid_answers_are_refused_and_nothing_written(
    tmp_path: Path,
    runner: str,
    assignment: str,
    message: str,
) -> None:
    dest = tmp_path / "out"
    done = RUNNERS[runner]("new", str(dest), "--defaults", "--data", assignment)
    _assert_refused(done, message)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_non_empty_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    _assert_refused(run_cli("new", str(tmp_path / "busy"), "--defaults"), "not empty")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["file"]


def test_destination_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    _assert_refused(run_cli("new", str(tmp_path / "f"), "--defaults"), "not a folder")


@pytest.mark.parametrize(
    ("option", "content", "message"),
    [
        ("--data-file", None, "does not exist"),
        ("--preset", None, "does not exist"),
        ("--data-file", "- a\n", "must be a mapping"),
        ("--preset", "x: [", "not valid YAML"),
    ],
)
def test_unreadable_answer_files_are_refused(
    tmp_path: Path, option: str, content: str | None, message: str
) -> None:
    path = tmp_path / "in.yml"
    if content is not None:
        path.write_text(content)
    dest = tmp_path / "out"
    _assert_refused(run_cli("new", str(dest), "--defaults", option, str(path)), message)
    assert not dest.exists()


def test_unknown_question_is_refused(tmp_path: Path) -> None:
    _assert_refused(
        run_cli("new", str(tmp_path / "o"), "--defaults", "-d", "colour=red"),
        "unknown question(s): colour",
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("source", ["/does/not/exist", "https://127.0.0.1:9/nothing.git"])
def test_unknown_template_source_is_refused(tmp_path: Path, source: str) -> None:
    done = run_cli("new", str(tmp_path / "o"), "--defaults", "--template", source)
    _assert_refused(done, source)
    assert not (tmp_path / "o").exists()


def test_no_terminal_without_defaults_is_refused(tmp_path: Path) -> None:
    _assert_refused(run_cli("new", str(tmp_path / "o")), "--defaults")


def test_vcs_ref_needs_a_template(tmp_path: Path) -> None:
    _assert_refused(
        run_cli("new", str(tmp_path / "o"), "--defaults", "--vcs-ref", "v1"), "--template"
    )


def test_help_explains_the_layers() -> None:
    done = run_cli("new", "--help")
    assert done.returncode == 0
    for word in ("--defaults", "--data", "--data-file", "--preset", "--template", "--vcs-ref"):
        assert word in done.stdout


def test_template_from_a_git_source_at_a_ref(tmp_path: Path) -> None:
    """--template/--vcs-ref render any copier source and record it for updates."""
    clone = tmp_path / "tpl"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "tag", "v9.9.9"], check=True)
    done = run_cli(
        "new", str(tmp_path / "svc"), "--defaults", "--template", str(clone), "--vcs-ref", "v9.9.9"
    )
    assert done.returncode == 0, done.stderr
    answers = _answers(tmp_path / "svc")
    assert answers["_commit"] == "v9.9.9"
    assert answers["_src_path"] == str(clone)
