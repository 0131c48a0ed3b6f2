"""The artifact stack's release server: a loopback HTTP server in the test process.

The artifact stack's image downloads a released tarball by version and checks its
SHA-256. Here a rendered repository's own `artifact/package.sh` packs its sample source,
and the archive is served from 127.0.0.1 under a directory named for its checksum, so
clones that change the source (a service broken on purpose) publish a release of their
own without touching anyone else's. Builds reach the server with `BUILD_NETWORK=host`.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

VERSION = "2.4.1"
"""The release the engine tests package: not the rendered default, so the overrides count."""

PACKAGE_TIMEOUT = 60.0


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files; the request log would only clutter the test output."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ArtifactServer:
    """Files under a temporary directory, served on a free 127.0.0.1 port."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="imgscaffold-artifacts-"))
        handler = partial(_QuietHandler, directory=str(self.root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="artifact-server", daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def publish(self, archive: Path) -> Release:
        """Serve `archive` under <sha256>/<its name>; returns where and its checksum."""
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        target = self.root / digest / archive.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(archive, target)
        return Release(url=self.url(f"{digest}/{archive.name}"), sha256=digest, path=target)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass(frozen=True)
class Release:
    """One served archive."""

    url: str
    sha256: str
    path: Path


_lock = threading.Lock()
_server: ArtifactServer | None = None


def artifact_server() -> ArtifactServer:
    """The process's one server, started on first use and stopped at exit."""
    global _server
    with _lock:
        if _server is None:
            _server = ArtifactServer()
            atexit.register(_server.close)
        return _server


def package(repo: Path, version: str, output: Path) -> Path:
    """Run the repository's own `artifact/package.sh`; returns the archive it wrote."""
    done = subprocess.run(
        [str(repo / "artifact" / "package.sh"), version, str(output)],
        cwd=repo, capture_output=True, text=True, timeout=PACKAGE_TIMEOUT, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"artifact/package.sh {version} failed: {done.stderr.strip()}")
    digest, _, path = done.stdout.strip().partition("  ")
    archive = Path(path)
    if not archive.is_file() or hashlib.sha256(archive.read_bytes()).hexdigest() != digest:
        raise RuntimeError(f"artifact/package.sh printed {done.stdout!r}, not the archive's sha256")
    return archive


def publish_release(repo: Path, version: str = VERSION) -> Release:
    """Package the repository's sample artifact at `version` and serve it."""
    server = artifact_server()
    with tempfile.TemporaryDirectory(prefix="package-", dir=server.root) as output:
        return server.publish(package(repo, version, Path(output)))
