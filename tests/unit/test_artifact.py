"""The artifact stack without an engine: the packaging script, the answers, the build inputs."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from imgscaffold.create import NewRepository

SHA = "5" * 64
CUSTOM = {
    "stack": "artifact",
    "service_name": "orders",
    "artifact_url": "https://releases.example.org/vendor/orders-{version}/orders-{version}.tar.gz",
    "artifact_version": "3.2.1-rc.2",
    "artifact_sha256": SHA,
}


@pytest.fixture
def repo(render: Callable[..., NewRepository]) -> Path:
    return render("orders", **CUSTOM).path


def package(repo: Path, version: str, output: Path, umask: str = "022") -> tuple[str, Path]:
    """Run artifact/package.sh under `umask`; returns the printed sha256 and the archive."""
    done = subprocess.run(
        ["sh", "-c", f'umask {umask} && exec "$0" "$@"', str(repo / "artifact/package.sh"),
         version, str(output)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    digest, _, path = done.stdout.strip().partition("  ")
    archive = Path(path)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest, done.stdout
    return digest, archive


def test_package_script_is_deterministic(repo: Path, tmp_path: Path) -> None:
    first, _ = package(repo, "1.0.1", tmp_path / "first")
    # A later checkout: new file times, another umask, a bytecode cache left behind.
    source = repo / "artifact/src/server.py"
    os.utime(source, (1_900_000_000, 1_900_000_000))
    source.chmod(0o600)
    (source.parent / "__pycache__").mkdir()
    (source.parent / "__pycache__/server.cpython-312.pyc").write_bytes(b"cache")
    second, _ = package(repo, "1.0.1", tmp_path / "second", umask="077")
    assert second == first

    with source.open("a") as file:
        file.write("# a change\n")
    assert package(repo, "1.0.1", tmp_path / "third")[0] != first
    assert package(repo, "1.0.2", tmp_path / "fourth")[0] != first


def test_package_script_writes_the_layout_the_dockerfile_expects(
    repo: Path, tmp_path: Path
) -> None:
    _, archive = package(repo, "3.2.1-rc.2", tmp_path)
    assert archive.name == "orders-3.2.1-rc.2.tar.gz"
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == ["orders-3.2.1-rc.2", *sorted(names[1:])]
        assert set(names) == {
            "orders-3.2.1-rc.2",
            "orders-3.2.1-rc.2/VERSION",
            "orders-3.2.1-rc.2/server.py",
        }
        for member in members:
            assert (member.uid, member.gid, member.mtime) == (0, 0, 0), member.name
            assert member.mode == (0o755 if member.isdir() else 0o644), member.name
        version = tar.extractfile("orders-3.2.1-rc.2/VERSION")
        assert version is not None and version.read() == b"3.2.1-rc.2\n"
    assert archive.read_bytes()[3] & 0x08 == 0, "gzip header carries a file name"
    assert archive.read_bytes()[4:8] == b"\0\0\0\0", "gzip header carries a time stamp"


def test_package_script_defaults_to_an_ignored_dist_directory(repo: Path) -> None:
    done = subprocess.run(
        ["artifact/package.sh", "1.0.1"], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (repo / "dist/orders-1.0.1.tar.gz").is_file()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", "the archive is not ignored by git"


@pytest.mark.parametrize("version", ["", "../1", "-1", "1 0", "1/0"])
def test_package_script_refuses_what_is_not_a_version(
    repo: Path, tmp_path: Path, version: str
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    done = subprocess.run(
        [str(repo / "artifact/package.sh"), version, str(output)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 64
    assert "Usage" in done.stderr or "VERSION" in done.stderr
    assert not list(output.iterdir())


def test_answers_become_the_dockerfiles_argument_defaults(repo: Path) -> None:
    dockerfile = (repo / "Dockerfile").read_text()
    assert f"ARG ARTIFACT_VERSION={CUSTOM['artifact_version']}\n" in dockerfile
    assert f"ARG ARTIFACT_SHA256={SHA}\n" in dockerfile
    assert f"ARG ARTIFACT_URL={CUSTOM['artifact_url']}\n" in dockerfile
    readme = (repo / "README.md").read_text()
    assert CUSTOM["artifact_url"] in readme
    assert "placeholders" not in readme


def test_defaults_are_marked_as_placeholders(render: Callable[..., NewRepository]) -> None:
    repo = render("plain", stack="artifact").path
    assert "ARG ARTIFACT_SHA256=" + "0" * 64 in (repo / "Dockerfile").read_text()
    assert "The defaults are placeholders" in (repo / "README.md").read_text()


def test_the_artifact_source_stays_out_of_the_build_context(repo: Path) -> None:
    rules = [
        line
        for line in (repo / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert rules[0] == "*"
    assert "!docker/" in rules
    assert not [rule for rule in rules if rule.startswith("!artifact")]
    assert "COPY artifact" not in (repo / "Dockerfile").read_text()


def test_other_stacks_ask_nothing_about_artifacts(render: Callable[..., NewRepository]) -> None:
    repo = render("py", stack="python").path
    assert "artifact" not in (repo / ".copier-answers.yml").read_text()
    assert not (repo / "artifact").exists()
    assert "ARTIFACT_" not in (repo / "ci/lib.sh").read_text()


FAKE_DOCKER = """#!/bin/sh
case $1 in
    buildx) exit 1 ;;
    version) echo 20.10.24; exit 0 ;;
esac
printf '%s\\n' "$@" >"$DOCKER_ARGS"
"""


def build_arguments(repo: Path, tmp_path: Path, env: dict[str, str]) -> list[str]:
    """What ci/lib.sh's build_image passes to `docker build`, with a recording docker."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    record = tmp_path / "args"
    script = (
        ". ci/lib.sh && BASE_PINNED=base@sha256:1 BASE_IMAGE=base BASE_DIGEST=sha256:1 "
        "&& build_image ci 1.0.0 abc url registry.example.com/orders:t"
    )
    done = subprocess.run(
        ["sh", "-c", script], cwd=repo, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "DOCKER_ARGS": str(record), **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return record.read_text().splitlines()


def test_ci_passes_the_artifact_from_the_environment(repo: Path, tmp_path: Path) -> None:
    env = {
        "ARTIFACT_VERSION": "9.9.9",
        "ARTIFACT_SHA256": "a" * 64,
        "ARTIFACT_URL": "http://127.0.0.1:1/x-{version}.tar.gz",
        "BUILD_NETWORK": "host",
    }
    args = build_arguments(repo, tmp_path, env)
    joined = "\n".join(args)
    for name, value in env.items():
        if name.startswith("ARTIFACT_"):
            assert f"--build-arg\n{name}={value}\n" in joined + "\n", args
    assert re.search(r"^--network\nhost$", joined, re.M), args


def test_ci_leaves_the_dockerfile_defaults_alone_without_overrides(
    repo: Path, tmp_path: Path
) -> None:
    args = build_arguments(repo, tmp_path, {})
    assert not [a for a in args if a.startswith("ARTIFACT_")], args
    assert "--network" not in args
