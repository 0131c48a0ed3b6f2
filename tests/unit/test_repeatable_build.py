"""What makes a rendered repository's CI build repeatable, read from ci/lib.sh and the
Dockerfile without an engine: the build's inputs depend on the commit, never on the
clock, the branch or the machine. The engine tests build twice and compare digests.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import NewRepository, create_repository

COMMIT = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
SEMVER_PRERELEASE = re.compile(r"^0\.0\.0-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$")
COMMITTED = "2026-01-02T03:04:05+02:00"
COMMITTED_UTC = "2026-01-02T01:04:05Z"

# A docker client with buildx whose answers the test chooses: the builder's driver
# (DRIVER) and the engine's image store (STORE: containerd or classic). Every call is
# recorded, one argument per line, with the SOURCE_DATE_EPOCH it saw.
FAKE_DOCKER = """#!/bin/sh
{ echo "== SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-}"; printf '%s\\n' "$@"; } >>"$DOCKER_ARGS"
case "$1 $2" in
    "buildx version") echo "github.com/docker/buildx 0.13.1"; exit 0 ;;
    "buildx inspect") printf 'Name: default\\nDriver: %s\\n' "$DRIVER"; exit 0 ;;
    "buildx build")
        for arg in "$@"; do
            case $arg in type=oci,dest=*) dest=${arg#type=oci,dest=}; : >"${dest%%,*}" ;; esac
        done
        exit 0
        ;;
esac
case $1 in
    info)
        if [ "$STORE" = containerd ]; then
            echo '[["driver-type","io.containerd.snapshotter.v1"]]'
        else
            echo '[["Backing Filesystem","extfs"]]'
        fi
        ;;
esac
exit 0
"""

# A clock that tells the time FAKE_NOW says, to show that no build input follows it.
FAKE_DATE = """#!/bin/sh
case $* in
    *%s*) echo "$FAKE_NOW" ;;
    *) /bin/date -u -d "@$FAKE_NOW" +%Y-%m-%dT%H:%M:%SZ ;;
esac
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("repeatable") / "orders"
    create_repository(path, layers=AnswerLayers(cli={}))
    # A commit at a known time: the build's dates must come from it.
    env = {**os.environ, "GIT_COMMITTER_DATE": COMMITTED, "GIT_AUTHOR_DATE": COMMITTED}
    subprocess.run(
        ["git", "commit", "--quiet", "--allow-empty", "-m", "dated"],
        cwd=path, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return path


def lib(
    repo: Path, script: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", f". ci/lib.sh && {script}"],
        cwd=repo, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def build(
    repo: Path,
    tmp_path: Path,
    *,
    driver: str = "docker",
    store: str = "containerd",
    now: int = 1_800_000_000,
    kind: str = "ci",
    archive: str = "build/image.oci.tar",
) -> tuple[list[str], str]:
    """The docker calls of one build_image, and its stderr."""
    bin_dir = tmp_path / f"bin-{now}-{driver}-{store}-{kind}"
    bin_dir.mkdir()
    for name, text in (("docker", FAKE_DOCKER), ("date", FAKE_DATE)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    record = bin_dir / "args"
    script = (
        "BASE_PINNED=base@sha256:1 BASE_IMAGE=base BASE_DIGEST=sha256:1 "
        f"BUILD_ARCHIVE={archive} "
        f"&& build_image {kind} 0.0.0-g1a2b3c4d5e6f {COMMIT} https://ci.example/run/1 reg/orders:t"
    )
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin", "DOCKER_ARGS": str(record),
        "DRIVER": driver, "STORE": store, "FAKE_NOW": str(now),
    }  # fmt: skip
    done = lib(repo, script, env)
    assert done.returncode == 0, done.stderr
    return record.read_text().splitlines(), done.stderr


def build_call(calls: list[str]) -> list[str]:
    """The `docker buildx build` call among the recorded ones, with its environment line."""
    starts = [i for i, line in enumerate(calls) if line.startswith("== ")]
    for start, end in zip(starts, [*starts[1:], len(calls)], strict=True):
        if calls[start + 1 : start + 3] == ["buildx", "build"]:
            return calls[start:end]
    raise AssertionError(f"no buildx build call in {calls}")


def build_args(call: list[str]) -> dict[str, str]:
    pairs = [call[i + 1] for i, arg in enumerate(call) if arg == "--build-arg"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_version_label_of_a_ci_build_depends_on_the_commit_alone(repo: Path) -> None:
    done = lib(repo, f"commit_version {COMMIT}")
    assert done.returncode == 0, done.stderr
    version = done.stdout.strip()
    assert version == "0.0.0-g1a2b3c4d5e6f"
    assert SEMVER_PRERELEASE.match(version)
    refused = lib(repo, "commit_version main")
    assert refused.returncode == 1
    assert "not a commit SHA" in refused.stderr


def test_the_commit_time_is_read_from_git_in_utc(repo: Path) -> None:
    epoch = int(datetime.fromisoformat(COMMITTED).timestamp())
    assert lib(repo, "ci_commit_time").stdout.strip() == str(epoch)
    assert lib(repo, "ci_commit_time rfc3339").stdout.strip() == COMMITTED_UTC
    assert datetime.fromisoformat(COMMITTED_UTC).astimezone(UTC).timestamp() == epoch


def test_a_ci_build_gets_its_dates_from_the_commit_not_the_clock(
    repo: Path, tmp_path: Path
) -> None:
    epoch = str(int(datetime.fromisoformat(COMMITTED).timestamp()))
    first = build_call(build(repo, tmp_path, now=1_800_000_000)[0])
    later = build_call(build(repo, tmp_path, now=1_900_000_000)[0])
    assert first == later, "a build input followed the clock"
    assert first[0] == f"== SOURCE_DATE_EPOCH={epoch}"
    args = build_args(first)
    assert args["BUILD_DATE"] == COMMITTED_UTC
    assert "BUILD_URL" not in args, "the CI run's URL would make every run's image differ"


def test_a_ci_build_writes_an_oci_archive_with_rewritten_times_and_provenance(
    repo: Path, tmp_path: Path
) -> None:
    calls, _ = build(repo, tmp_path)
    call = build_call(calls)
    assert "--load" not in call
    output = call[call.index("--output") + 1]
    assert output == "type=oci,dest=build/image.oci.tar.tmp,rewrite-timestamp=true"
    provenance = call[call.index("--provenance") + 1]
    assert provenance == 'mode=max,"builder-id=https://ci.example/run/1"'
    assert "load\n--input\nbuild/image.oci.tar" in "\n".join(calls)
    assert (repo / "build/image.oci.tar").is_file()


@pytest.mark.parametrize(("driver", "store"), [("docker-container", "classic")])
def test_any_builder_but_the_classic_stores_docker_driver_writes_the_archive(
    repo: Path, tmp_path: Path, driver: str, store: str
) -> None:
    call = build_call(build(repo, tmp_path, driver=driver, store=store)[0])
    assert "--output" in call


def test_on_the_classic_image_store_the_build_says_it_is_not_repeatable(
    repo: Path, tmp_path: Path
) -> None:
    calls, stderr = build(repo, tmp_path, store="classic")
    call = build_call(calls)
    assert "--load" in call and "--output" not in call
    assert "not repeatable" in stderr and "containerd image store" in stderr


def test_a_development_build_is_dated_now_and_loaded(repo: Path, tmp_path: Path) -> None:
    call = build_call(build(repo, tmp_path, kind="development", now=1_800_000_000)[0])
    assert build_args(call)["BUILD_DATE"] == "2027-01-15T08:00:00Z"
    assert "--load" in call


def oci_archive(path: Path, index: dict[str, object]) -> Path:
    data = json.dumps(index, separators=(",", ":")).encode()
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("index.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_the_archive_digest_is_the_one_its_index_names(repo: Path, tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    archive = oci_archive(tmp_path / "image.tar", {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest,
            "size": 856, "annotations": {"io.containerd.image.name": "reg/orders:t"},
        }],
    })  # fmt: skip
    done = lib(repo, f"archive_digest {archive}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == digest


@pytest.mark.parametrize("stack", ["python", "artifact"])
def test_python_bytecode_is_hash_based(render: Callable[..., NewRepository], stack: str) -> None:
    dockerfile = (render(stack, stack=stack).path / "Dockerfile").read_text()
    compiles = re.findall(r"^(?!#).*-m compileall[^\n]*", dockerfile, re.M)
    assert compiles, "no bytecode is compiled"
    for line in compiles:
        assert "--invalidation-mode checked-hash" in line, line
    if stack == "python":
        assert "--no-compile" in dockerfile, "pip's bytecode records the install time"


def test_the_labels_hold_nothing_of_the_ci_run(render: Callable[..., NewRepository]) -> None:
    dockerfile = (render("labels").path / "Dockerfile").read_text()
    assert "BUILD_URL" not in dockerfile
    assert "build.url" not in dockerfile
