"""A registry of the test bed's own on loopback, and plain HTTP to it."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.testbed.engine import TestbedError, poll, tail

REGISTRY_START_SECONDS = 20.0

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)

# Loopback only: never let an HTTP proxy from the environment sit between tests and services.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request without proxies; returns status, headers and body (errors included)."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


COSIGN_TAG = re.compile(r"sha256-(?P<hex>[0-9a-f]{64})\.(?P<kind>sig|att|sbom)")
"""The tags cosign stores signatures and attestations under, next to the image's own."""


@dataclass
class Registry:
    """A distribution registry of our own on 127.0.0.1 with filesystem storage in a temp dir."""

    host: str
    process: subprocess.Popen[bytes]
    storage: Path
    log: Path

    def tags(self, repository: str) -> set[str]:
        """The tag list of a repository (empty when the repository does not exist)."""
        status, _, body = http_request(f"http://{self.host}/v2/{repository}/tags/list")
        if status == 404:
            return set()
        if status != 200:
            raise TestbedError(f"tags/list of {repository}: HTTP {status} {body[:200]!r}")
        return set(json.loads(body).get("tags") or [])

    def digest(self, repository: str, reference: str) -> str:
        """The manifest digest a tag points to."""
        status, headers, body = http_request(
            f"http://{self.host}/v2/{repository}/manifests/{reference}",
            method="HEAD",
            headers={"Accept": MANIFEST_TYPES},
        )
        digest = {k.lower(): v for k, v in headers.items()}.get("docker-content-digest", "")
        if status != 200 or not digest:
            raise TestbedError(f"manifest {repository}:{reference}: HTTP {status} {body[:200]!r}")
        return digest

    def tag_digests(self, repository: str) -> dict[str, str]:
        """Every image tag of a repository with the digest it points to.

        cosign's own tags (`sha256-<hex>.sig`, `.att`, `.sbom`) are not image tags: see
        `attached`.
        """
        return {
            tag: self.digest(repository, tag)
            for tag in sorted(self.tags(repository))
            if not COSIGN_TAG.fullmatch(tag)
        }

    def attached(self, repository: str) -> dict[str, set[str]]:
        """What cosign attached to each digest: `{"sha256:<hex>": {"sig", "att"}}`."""
        found: dict[str, set[str]] = {}
        for tag in self.tags(repository):
            if match := COSIGN_TAG.fullmatch(tag):
                found.setdefault(f"sha256:{match['hex']}", set()).add(match["kind"])
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.storage, ignore_errors=True)


REGISTRY_CONFIG = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: {host}
"""


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_registry(workdir: Path) -> Registry:
    """Start `docker-registry serve` on a free loopback port (never the development one)."""
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        raise TestbedError("no registry binary (on Debian: apt-get install docker-registry)")
    storage = Path(tempfile.mkdtemp(prefix="registry-", dir=workdir))
    host = f"127.0.0.1:{free_loopback_port()}"
    config = workdir / "registry.yml"
    config.write_text(REGISTRY_CONFIG.format(storage=storage, host=host))
    log = workdir / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    registry = Registry(host=host, process=process, storage=storage, log=log)

    def answers() -> bool:
        if process.poll() is not None:
            raise TestbedError(f"registry exited with {process.returncode}: {tail(log)}")
        try:
            return http_request(f"http://{host}/v2/", timeout=2)[0] == 200
        except OSError:
            return False

    try:
        poll(f"the registry at {host}", answers, seconds=REGISTRY_START_SECONDS)
    except TestbedError:
        registry.stop()
        raise
    return registry
