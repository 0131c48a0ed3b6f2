"""A Docker engine reached through Debian's BuildKit-capable client: found, or started.

Also the test bed's errors and its command and polling helpers, which every other
module of the package uses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEST_LABEL = "imgscaffold.test=1"
"""Every container, volume, network and helper image the tests create carries this label."""

DEBIAN_CLIENT = Path("/usr/bin/docker")
"""Debian's 20.10 client builds with BuildKit; the newer client on PATH has no buildx."""

ENGINE_START_SECONDS = 60.0
POLL_SECONDS = 0.25


PollCheck = Callable[[], bool]


class TestbedError(Exception):
    """The test bed could not do what it was asked."""

    __test__ = False  # not a pytest test class, despite the name


class EngineUnavailable(TestbedError):
    """No Docker engine answers and none can be started here."""


def run(
    argv: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
    check: bool = True,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with captured text output, a time limit and a readable failure."""
    try:
        done = subprocess.run(
            [str(a) for a in argv],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            input=stdin.decode() if stdin is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TestbedError(f"timed out after {timeout:.0f}s: {' '.join(map(str, argv))}") from exc
    if check and done.returncode != 0:
        raise TestbedError(
            f"exit {done.returncode}: {' '.join(map(str, argv))}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    return done


def poll(what: str, ready: PollCheck, *, seconds: float, interval: float = POLL_SECONDS) -> None:
    """Call `ready` until it is true, at most `seconds` and a bounded number of times."""
    attempts = max(1, int(seconds / interval) + 1)
    deadline = time.monotonic() + seconds
    for _ in range(attempts):
        if ready():
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise TestbedError(f"gave up waiting {seconds:.0f}s for {what}")


# ----------------------------------------------------------------------------- engine


@dataclass
class Engine:
    """A Docker engine reached through Debian's BuildKit-capable client."""

    client: Path
    shim_dir: Path
    daemon: subprocess.Popen[bytes] | None = None
    daemon_log: Path | None = None

    def docker(
        self,
        *args: str | Path,
        timeout: float = 300,
        check: bool = True,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the Debian docker client."""
        return run(
            [self.client, *args],
            env=env or self.environment(),
            timeout=timeout,
            check=check,
            stdin=stdin,
        )

    def environment(
        self, extra: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The environment for rendered scripts: Debian's client first on PATH, BuildKit on."""
        env = dict(os.environ if base is None else base)
        tool_dir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join(
            [str(self.shim_dir), tool_dir, env.get("PATH", "/usr/bin:/bin")]
        )
        env["DOCKER_BUILDKIT"] = "1"
        env.update(extra or {})
        return env

    def image_ids(self, repository: str | None = None) -> set[str]:
        """Image ids the engine holds: all, intermediate ones included, or one repository's.

        Scoping to a repository keeps a check true while other builds share the engine.
        """
        scope = ["--filter", f"reference={repository}:*"] if repository else []
        return set(self.docker("images", "-a", "-q", "--no-trunc", *scope).stdout.split())

    def has_image(self, reference: str) -> bool:
        return self.docker("image", "inspect", reference, check=False).returncode == 0

    def inspect(self, reference: str) -> dict[str, Any]:
        """`docker image inspect` of one image."""
        data = json.loads(self.docker("image", "inspect", reference).stdout)
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
            raise TestbedError(f"unexpected inspect output for {reference}")
        return data[0]

    def stop(self) -> None:
        """Stop the daemon if this test bed started it."""
        if self.daemon is None:
            return
        self.daemon.terminate()
        try:
            self.daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait(timeout=10)
        self.daemon = None


DOCKER_SHIM = """#!/bin/sh
# Debian's BuildKit-capable client, first on PATH; logs invocations when asked to.
if [ -n "${{IMGSCAFFOLD_DOCKER_LOG:-}}" ]; then
    printf '%s\\n' "$*" >> "$IMGSCAFFOLD_DOCKER_LOG"
fi
exec {client} "$@"
"""


def docker_client() -> Path | None:
    """Debian's client if installed (it has BuildKit), otherwise whatever is on PATH."""
    if DEBIAN_CLIENT.is_file():
        return DEBIAN_CLIENT
    found = shutil.which("docker")
    return Path(found) if found else None


def engine_answers(client: Path) -> bool:
    try:
        done = run([client, "version", "--format", "{{.Server.Version}}"], timeout=20, check=False)
    except TestbedError:
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def write_docker_shim(client: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "docker"
    shim.write_text(DOCKER_SHIM.format(client=client))
    shim.chmod(0o755)
    return directory


DEFAULT_SOCKET = "unix:///var/run/docker.sock"
DAEMON_PIDFILE = Path("/var/run/docker.pid")


def why_no_daemon_can_start() -> str | None:
    """Why starting dockerd here would not help, or None if it may."""
    host = os.environ.get("DOCKER_HOST", "")
    if host and host != DEFAULT_SOCKET:
        return f"DOCKER_HOST={host} does not answer"
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        return (
            "no Docker engine answers at /var/run/docker.sock and none can be started here "
            "(needs root and dockerd; on Debian: apt-get install docker.io)"
        )
    if DAEMON_PIDFILE.is_file():
        pid = DAEMON_PIDFILE.read_text().strip()
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            return f"dockerd (pid {pid}) is running but does not answer at /var/run/docker.sock"
    return None


def start_daemon(client: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Start dockerd in its own session and wait, bounded, until the client reaches it."""
    reason = why_no_daemon_can_start()
    if reason is not None:
        raise EngineUnavailable(reason)
    dockerd = shutil.which("dockerd") or "dockerd"
    log = workdir / "dockerd.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [dockerd], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + ENGINE_START_SECONDS
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise EngineUnavailable(f"dockerd exited with {daemon.returncode}: {tail(log)}")
        if engine_answers(client):
            return daemon, log
        time.sleep(0.5)
    daemon.terminate()
    raise EngineUnavailable(
        f"dockerd did not answer within {ENGINE_START_SECONDS:.0f}s: {tail(log)}"
    )


def tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def ensure_engine(workdir: Path) -> Engine:
    """A reachable engine: the running one, or one started here. Raises EngineUnavailable."""
    client = docker_client()
    if client is None:
        raise EngineUnavailable("no docker client installed (on Debian: apt-get install docker.io)")
    shim_dir = write_docker_shim(client, workdir / "bin")
    if engine_answers(client):
        return Engine(client=client, shim_dir=shim_dir)
    daemon, log = start_daemon(client, workdir)
    return Engine(client=client, shim_dir=shim_dir, daemon=daemon, daemon_log=log)
