"""Running containers of a built image and observing them: health, logs, processes, HTTP."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.e2e.testbed.engine import TEST_LABEL, Engine, TestbedError, poll
from tests.e2e.testbed.registry import http_request

FAST_HEALTH = ("--health-interval", "1s", "--health-retries", "3")
"""Quicker probing where timing is not the point; probe, timeout and start period stay."""

HEALTH_WAIT_SECONDS = 90.0


@dataclass(frozen=True)
class Process:
    """A process of a container, seen from the host."""

    pid: int
    ppid: int
    args: str


@dataclass
class Container:
    """A detached container started by a test; removed by `remove()` or the session sweep."""

    engine: Engine
    id: str

    def inspect(self) -> dict[str, Any]:
        data = json.loads(self.engine.docker("container", "inspect", self.id).stdout)
        assert isinstance(data, list) and len(data) == 1
        return dict(data[0])

    def state(self) -> dict[str, Any]:
        return dict(self.inspect()["State"])

    def health(self) -> str:
        state = self.state()
        return str((state.get("Health") or {}).get("Status", "none"))

    def wait_for_health(self, status: str, *, seconds: float = HEALTH_WAIT_SECONDS) -> float:
        """Wait, bounded, until the health status is `status`; returns the seconds it took."""
        started = time.monotonic()

        def reached() -> bool:
            state = self.state()
            if not state.get("Running"):
                stdout, stderr = self.logs()
                raise TestbedError(
                    f"container exited with {state.get('ExitCode')} before becoming {status}\n"
                    f"stdout: {stdout[-2000:]}\nstderr: {stderr[-2000:]}"
                )
            return str((state.get("Health") or {}).get("Status")) == status

        try:
            poll(
                f"container {self.id[:12]} to become {status}",
                reached,
                seconds=seconds,
                interval=0.2,
            )
        except TestbedError as exc:
            raise AssertionError(f"{exc}\nlast health log: {self.health_log()}") from None
        return time.monotonic() - started

    def health_log(self) -> list[dict[str, Any]]:
        return list((self.state().get("Health") or {}).get("Log") or [])

    def host_port(self, container_port: int) -> int:
        """The loopback port Docker published for a container port."""
        out = self.engine.docker("port", self.id, f"{container_port}/tcp").stdout.split()
        for binding in out:
            if binding.startswith("127.0.0.1:"):
                return int(binding.rsplit(":", 1)[1])
        raise AssertionError(f"port {container_port} is not published on 127.0.0.1: {out}")

    def url(self, container_port: int, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.host_port(container_port)}{path}"

    def logs(self) -> tuple[str, str]:
        """stdout and stderr of the container, kept apart as `docker logs` keeps them."""
        done = self.engine.docker("logs", self.id)
        return done.stdout, done.stderr

    def processes(self) -> list[Process]:
        """The container's processes with host pids, via `docker top`."""
        lines = self.engine.docker("top", self.id, "-eo", "pid,ppid,args").stdout.splitlines()[1:]
        found = []
        for line in lines:
            pid, ppid, args = line.split(None, 2)
            found.append(Process(int(pid), int(ppid), args))
        return found

    def init_pid(self) -> int:
        """The host pid of the container's PID 1."""
        return int(self.state()["Pid"])

    def stop(self, timeout: int = 10) -> tuple[float, int]:
        """`docker stop`; returns the seconds it took and the container's exit code."""
        started = time.monotonic()
        self.engine.docker("stop", "-t", str(timeout), self.id, timeout=timeout + 30)
        elapsed = time.monotonic() - started
        return elapsed, int(self.state()["ExitCode"])

    def remove(self) -> None:
        self.engine.docker("rm", "-f", "-v", self.id, check=False)


MINIMAL_INITS = frozenset({"tini", "docker-init", "dumb-init", "catatonit"})
SHELLS = frozenset({"sh", "bash", "dash", "ash", "busybox"})


def program(process: Process) -> str:
    """The executable's base name (`/bin/sh -c ...` -> `sh`)."""
    return process.args.split()[0].rsplit("/", 1)[-1]


def is_service(process: Process, service_marker: str) -> bool:
    """The service itself, not a shell or wrapper whose arguments mention it."""
    return service_marker in process.args and program(process) not in SHELLS | MINIMAL_INITS


def pid1_problem(container: Container, service_marker: str) -> str | None:
    """Why PID 1 is neither the service nor a minimal init whose only child is the service."""
    processes = container.processes()
    init = [p for p in processes if p.pid == container.init_pid()]
    if len(init) != 1:
        return f"PID 1 not found among {processes}"
    children = [p for p in processes if p.ppid == init[0].pid]
    if is_service(init[0], service_marker):
        return None  # its own children, if any, are part of the service
    if program(init[0]) not in MINIMAL_INITS:
        return f"PID 1 is neither the service nor a minimal init: {init[0].args!r}"
    if len(children) != 1 or not is_service(children[0], service_marker):
        return f"the init's children are not just the service: {children}"
    return None


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def start(engine: Engine, image: str, *options: str, command: Sequence[str] = ()) -> Container:
    """`docker run -d` with the test label; options are docker run flags."""
    done = engine.docker(
        "run",
        "-d",
        "--label",
        TEST_LABEL,
        "--name",
        unique_name("imgscaffold-e2e"),
        *options,
        image,
        *command,
    )
    return Container(engine, done.stdout.strip())


def run_once(
    engine: Engine, image: str, *options: str, command: Sequence[str] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`docker run --rm` to completion; returns the CompletedProcess (any exit code)."""
    return engine.docker(
        "run",
        "--rm",
        "--label",
        TEST_LABEL,
        *options,
        image,
        *command,
        timeout=timeout,
        check=False,
    )


def copy_out(engine: Engine, image: str, path: str) -> tarfile.TarFile:
    """A path of an image's file system as `docker cp` packs it: works for every image,
    shell or no shell, because no process runs in the container."""
    container = engine.docker("create", "--label", TEST_LABEL, image).stdout.strip()
    try:
        packed = subprocess.run(
            [str(engine.client), "cp", f"{container}:{path}", "-"],
            env=engine.environment(), capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        engine.docker("rm", "-v", container, check=False)
    if packed.returncode != 0:
        raise TestbedError(f"docker cp {image}:{path}: {packed.stderr.decode(errors='replace')}")
    return tarfile.open(fileobj=io.BytesIO(packed.stdout))


def read_file(engine: Engine, image: str, path: str) -> str:
    """The text of one file in an image."""
    with copy_out(engine, image, path) as archive:
        member = archive.next()
        content = archive.extractfile(member) if member is not None else None
        if content is None:
            raise TestbedError(f"{path} in {image} is not a regular file")
        return content.read().decode()


def owner(engine: Engine, image: str, path: str) -> tuple[int, int]:
    """The numeric uid and gid that own a path in an image."""
    with copy_out(engine, image, path) as archive:
        member = archive.next()
        if member is None:
            raise TestbedError(f"docker cp returned nothing for {path} in {image}")
        return member.uid, member.gid


def new_volume(engine: Engine) -> str:
    return engine.docker(
        "volume", "create", "--label", TEST_LABEL, unique_name("imgscaffold-e2e")
    ).stdout.strip()


def published(port: int) -> tuple[str, str]:
    """Publish a container port on a random loopback port only."""
    return ("-p", f"127.0.0.1::{port}")


def get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, str]:
    status, _, body = http_request(url, headers=headers, timeout=timeout)
    return status, body.decode(errors="replace")


def post(
    url: str, body: bytes, *, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, str]:
    status, _, answer = http_request(
        url, method="POST", body=body, headers=headers, timeout=timeout
    )
    return status, answer.decode(errors="replace")
