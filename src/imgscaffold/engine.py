"""The local Docker engine, through the docker CLI: the one module that runs docker.

`imgscaffold check --image` reads an image here: what `docker image inspect` says of it,
and which files a folder of it holds (copied out of a created, never started container,
so the check works for images without a shell). Failures are DockerError, worded with the
command that failed; an image the engine does not have is a UsageError.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from typing import Any

from imgscaffold.errors import DockerError, UsageError

TIMEOUT_S = 60


def client(docker: str | None = None) -> str:
    """The docker CLI to use: DOCKER, or the one on PATH."""
    binary = docker or shutil.which("docker")
    if binary is None:
        raise DockerError("--image needs the docker CLI, and there is none on PATH")
    return binary


def inspect_image(ref: str, *, docker: str) -> dict[str, Any]:
    """`docker image inspect REF`, as data."""
    done = _docker(docker, "image", "inspect", ref)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        if message and "No such image" in message[-1]:
            raise UsageError(f"image {ref} is not on the local engine (pull or build it first)")
        raise DockerError(
            f"docker image inspect {ref} failed: {message[-1] if message else done.returncode}"
        )
    data: list[dict[str, Any]] = json.loads(done.stdout)
    return data[0]


def files_in(ref: str, directory: str, *, docker: str) -> list[str] | None:
    """The non-empty files under DIRECTORY of image REF; None if they cannot be read."""
    created = _docker(docker, "container", "create", ref)
    if created.returncode != 0:
        return None
    container = created.stdout.decode().strip()
    try:
        copied = _docker(docker, "container", "cp", f"{container}:{directory}/.", "-")
        if copied.returncode != 0:
            return None
        with tempfile.TemporaryFile() as buffer:
            buffer.write(copied.stdout)
            buffer.seek(0)
            with tarfile.open(fileobj=buffer) as archive:
                return sorted(
                    m.name.removeprefix("./")
                    for m in archive.getmembers()
                    if m.isfile() and m.size > 0
                )
    except tarfile.TarError:
        return None
    finally:
        _docker(docker, "container", "rm", "--force", container)


def _docker(
    docker: str, *args: str, timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run([docker, *args], capture_output=True, timeout=timeout, check=False)
    except OSError as error:
        raise DockerError(f"cannot run {docker}: {error}") from error
    except subprocess.TimeoutExpired as error:
        raise DockerError(
            f"`{docker} {' '.join(args)}` did not finish in {timeout:.0f} s"
        ) from error
