"""A real Docker engine, a loopback registry and offline stand-in base images.

The engine tests and the image benchmark prove rendered repositories on a real engine.
This module finds (or starts) that engine, runs a registry of its own on loopback, builds
stand-ins for the official base images with debootstrap (nothing can be pulled from public
registries here) and removes everything it or the tests created. It has no pytest
dependency so that `benchmarks/image.py` can use it too.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEST_LABEL = "imgscaffold.test=1"
SIGNING_PASSWORD = "imgscaffold-testbed"
"""The password of the test bed's own cosign key (made per test bed, never kept)."""
"""Every container, volume, network and helper image the tests create carries this label."""

COMPOSE_PROJECT_PREFIX = "imgscaffold-e2e-"
"""Compose projects started by the tests; swept by their compose project label."""

DEBIAN_CLIENT = Path("/usr/bin/docker")
"""Debian's 20.10 client builds with BuildKit; the newer client on PATH has no buildx."""

SUITE = "bookworm"
MIRROR_ENV = "IMGSCAFFOLD_DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = Path("/etc/apt")


def debian_mirror(environ: Mapping[str, str] = os.environ, apt: Path = APT_SOURCES) -> str:
    """Where the stand-ins' Debian packages come from: $IMGSCAFFOLD_DEBIAN_MIRROR, else the
    machine's own apt source for SUITE (a company mirror, say), else deb.debian.org."""
    if environ.get(MIRROR_ENV):
        return environ[MIRROR_ENV].rstrip("/")
    return _apt_mirror(apt, SUITE) or DEFAULT_MIRROR


def _apt_mirror(apt: Path, suite: str) -> str | None:
    """The first main-archive URI apt has for SUITE: deb822 .sources files, then one-line
    sources.list entries. Security and update archives carry no full suite."""
    stanzas: list[tuple[list[str], list[str]]] = []
    for sources in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", _read(sources)):
            fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.M))
            if "deb" in fields.get("Types", "").split():
                stanzas.append((fields.get("URIs", "").split(), fields.get("Suites", "").split()))
    for line in [
        *_read(apt / "sources.list").splitlines(),
        *(
            line
            for listed in sorted((apt / "sources.list.d").glob("*.list"))
            for line in _read(listed).splitlines()
        ),
    ]:
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            stanzas.append(([words[1]], [words[2]]))
    for uris, suites in stanzas:
        if suite in suites and uris:
            return uris[0].rstrip("/")
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


MIRROR = debian_mirror()
"""The Debian mirror of this run (see debian_mirror)."""
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CACHE_LABEL = "io.imgscaffold.testbed.key"

# The official python image ships pip, so the stand-in does too.
STANDIN_PACKAGES: dict[str, tuple[str, ...]] = {
    "python": ("python3", "python3-venv", "python3-pip", "python-is-python3", "ca-certificates"),
    "node": ("nodejs", "ca-certificates"),
    # The official golang image is a full Debian with the Go tool chain; the go stack
    # builds with it (BUILDER_IMAGE), and its final stage uses distroless-static.
    "go": ("golang-go", "ca-certificates"),
    # The packages whose files gcr.io/distroless/static holds; the stand-in's root file
    # system is derived from this debootstrap (STANDIN_DERIVED_ROOTS).
    "distroless-static": ("ca-certificates", "tzdata", "netbase"),
}
"""The Debian packages that make a stand-in for each official base image, keyed by stack
(or, for images no stack is named after, by the image's own short name)."""

STANDIN_APT_PACKAGES: dict[str, tuple[str, ...]] = {}
"""Packages installed with apt-get in the chroot after debootstrap, per stack (for
packages debootstrap cannot configure in its own pass)."""


@dataclass(frozen=True)
class NpmPackage:
    """A package from the npm registry, checked against the integrity its metadata gives."""

    name: str
    version: str
    integrity: str
    """`dist.integrity` of https://registry.npmjs.org/NAME/VERSION (sha512, base64)."""

    @property
    def tarball_url(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name}-{self.version}.tgz"


STANDIN_NPM_PACKAGES: dict[str, tuple[NpmPackage, ...]] = {
    # The official node image ships npm as one package with its dependencies bundled, in
    # /usr/local/lib/node_modules. Debian's npm is that split into several hundred node-*
    # packages (and python3 and a compiler tool chain for node-gyp): a stand-in twice the
    # size of the real image, with four times its packages.
    "node": (
        NpmPackage(
            "npm",
            "10.9.2",
            "sha512-iriPEPIkoMYUy3F6f3wwSZAU93E0Eg6cHwIR6jzzOXWSy+SD/rOODEs74cVONHKSx2obXtuUoyidVEhISrisgQ==",
        ),
    ),
}
"""npm packages installed globally in the stand-in, per stack, as the official image has them."""


def install_npm_package(root: Path, package: NpmPackage) -> None:
    """Unpack PACKAGE into ROOT's /usr/local/lib/node_modules and link its commands from
    /usr/local/bin, as `npm install --global` does."""
    try:
        with urllib.request.urlopen(package.tarball_url, timeout=120) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise TestbedError(f"cannot download {package.tarball_url}: {exc}") from exc
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != package.integrity:
        raise TestbedError(f"{package.tarball_url} has integrity {digest}, not {package.integrity}")
    modules = root / "usr/local/lib/node_modules"
    modules.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=modules) as unpacked:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(unpacked, filter="data")
        target = modules / package.name
        (Path(unpacked) / "package").rename(target)
    commands = json.loads((target / "package.json").read_text()).get("bin") or {}
    bin_dir = root / "usr/local/bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for command, relative in commands.items():
        script = target / relative
        script.chmod(0o755)
        link = bin_dir / command
        link.unlink(missing_ok=True)
        link.symlink_to(Path("../lib/node_modules", package.name, relative))


def distroless_static_root(debian: Path, root: Path) -> None:
    """A root file system shaped like gcr.io/distroless/static-debian12, from a Debian root.

    No shell, no libc, no package manager: the users and groups distroless defines, the CA
    bundle, time zones, netbase's files, os-release, a world-writable /tmp, and one
    /var/lib/dpkg/status.d/ entry per package it took files from, as distroless has.
    """
    for directory, mode in (
        ("etc/ssl/certs", 0o755), ("usr/share", 0o755), ("usr/lib", 0o755),
        ("var/lib/dpkg/status.d", 0o755), ("tmp", 0o1777), ("root", 0o700),
        ("home/nonroot", 0o700),
    ):  # fmt: skip
        (root / directory).mkdir(parents=True, exist_ok=True)
        (root / directory).chmod(mode)
    os.chown(root / "home/nonroot", 65532, 65532)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    )
    (root / "etc/group").write_text(
        "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
    )
    for name in ("etc/ssl/certs/ca-certificates.crt", "etc/services", "etc/protocols",
                 "etc/ethertypes", "usr/lib/os-release"):  # fmt: skip
        if (debian / name).is_file():
            shutil.copyfile(debian / name, root / name)
    (root / "etc/os-release").symlink_to("../usr/lib/os-release")
    shutil.copytree(debian / "usr/share/zoneinfo", root / "usr/share/zoneinfo", symlinks=True)
    wanted = {"base-files", "ca-certificates", "netbase", "tzdata"}
    status = (debian / "var/lib/dpkg/status").read_text()
    for stanza in status.split("\n\n"):
        match = re.search(r"^Package: (\S+)$", stanza, re.MULTILINE)
        if match and match.group(1) in wanted:
            (root / "var/lib/dpkg/status.d" / match.group(1)).write_text(stanza.strip() + "\n")


SLIM_EXCLUDES = (
    "/usr/share/doc/*", "/usr/share/groff/*", "/usr/share/info/*", "/usr/share/linda/*",
    "/usr/share/lintian/*", "/usr/share/locale/*", "/usr/share/man/*",
)  # fmt: skip
SLIM_INCLUDES = ("/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias")
"""What Debian's `-slim` images leave out (and tell dpkg to leave out of later packages),
and what they keep of it: the copyright files, so licences can still be read from the
image, and glibc's locale aliases."""

SLIM_VERSION = 1
"""Part of every stand-in's cache key: raise it when `slim_root` changes."""


def slim_root(root: Path) -> None:
    """Make a debootstrap root like the official `-slim` images: no package lists, no
    documentation, manual pages or translations (but the copyright files)."""
    rules = [f"path-exclude {pattern}" for pattern in SLIM_EXCLUDES]
    rules += [f"path-include {pattern}" for pattern in SLIM_INCLUDES]
    dpkg_cfg = root / "etc/dpkg/dpkg.cfg.d"
    dpkg_cfg.mkdir(parents=True, exist_ok=True)
    (dpkg_cfg / "docker-slim").write_text("\n".join(rules) + "\n")
    kept = {path for pattern in SLIM_INCLUDES for path in root.glob(pattern.lstrip("/"))}
    for pattern in SLIM_EXCLUDES:
        for path in root.glob(pattern.lstrip("/")):
            if path in kept:
                continue
            if path.is_dir() and not path.is_symlink() and any(k.parent == path for k in kept):
                for inner in path.iterdir():
                    if inner not in kept:
                        remove_path(inner)
            else:
                remove_path(path)
    for path in (root / "var/lib/apt/lists").glob("*"):
        if path.name not in ("partial", "lock"):
            remove_path(path)


def remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


STANDIN_DERIVED_ROOTS: dict[str, Callable[[Path, Path], None]] = {
    "distroless-static": distroless_static_root,
}
"""Stand-ins whose root file system is made from the debootstrap root rather than being it."""

STANDIN_DERIVED_VERSION = 1
"""Part of a derived stand-in's cache key: raise it when a derivation function changes."""

ENGINE_START_SECONDS = 60.0
REGISTRY_START_SECONDS = 20.0
POLL_SECONDS = 0.25


PollCheck = Callable[[], bool]


class TestbedError(Exception):
    """The test bed could not do what it was asked."""

    __test__ = False  # not a pytest test class, despite the name


class EngineUnavailable(TestbedError):
    """No Docker engine answers and none can be started here."""


def cache_dir() -> Path:
    """Where slow results (debootstrap tarballs) are kept between runs on one machine."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "imgscaffold" / "testbed"


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


# --------------------------------------------------------------------------- registry

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


# -------------------------------------------------------------------------- stand-ins


@dataclass(frozen=True)
class Standin:
    """A stand-in base image in the test bed's registry, pinned by digest."""

    stack: str
    name: str
    digest: str

    @property
    def reference(self) -> str:
        """`host/standin/<stack>:<tag>@sha256:...` as a CI would pin a base image."""
        return f"{self.name}@{self.digest}"


def standin_key(stack: str) -> str:
    """Cache key of a stand-in: suite, mirror, packages and the CA bundle it carries."""
    if stack not in STANDIN_PACKAGES:
        raise TestbedError(
            f"no stand-in base image defined for stack {stack!r}; add it to STANDIN_PACKAGES"
        )
    recipe = {
        "suite": SUITE,
        "mirror": MIRROR,
        "variant": "minbase",
        "packages": sorted(STANDIN_PACKAGES[stack]),
        **(
            {"apt_packages": sorted(STANDIN_APT_PACKAGES[stack])}
            if stack in STANDIN_APT_PACKAGES
            else {}
        ),
        **(
            {"npm_packages": [f"{p.name}@{p.version}" for p in STANDIN_NPM_PACKAGES[stack]]}
            if stack in STANDIN_NPM_PACKAGES
            else {}
        ),
        "slim": SLIM_VERSION,
        "ca": hashlib.sha256(HOST_CA_BUNDLE.read_bytes()).hexdigest()
        if HOST_CA_BUNDLE.is_file()
        else "",
        **({"derived": STANDIN_DERIVED_VERSION} if stack in STANDIN_DERIVED_ROOTS else {}),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def standin_tarball(stack: str) -> Path:
    """The stand-in's root file system as a tarball, built once per machine with debootstrap."""
    key = standin_key(stack)
    tarball = cache_dir() / f"standin-{stack}-{SUITE}-{key}.tar"
    if tarball.is_file():
        return tarball
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise TestbedError(
            "building stand-in base images needs root and debootstrap (apt-get install debootstrap)"
        )
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="standin-", dir=tarball.parent) as work:
        root = Path(work) / "root"
        packages = ",".join(STANDIN_PACKAGES[stack])
        run(
            ["debootstrap", "--variant=minbase", f"--include={packages}", SUITE, root, MIRROR],
            timeout=900,
        )
        if STANDIN_APT_PACKAGES.get(stack):
            run(
                [
                    "chroot", root, "apt-get", "install", "-y", "--no-install-recommends",
                    *STANDIN_APT_PACKAGES[stack],
                ],
                timeout=900,
            )  # fmt: skip
            run(["chroot", root, "apt-get", "clean"], timeout=120)
        for package in STANDIN_NPM_PACKAGES.get(stack, ()):
            install_npm_package(root, package)
        if HOST_CA_BUNDLE.is_file():
            # TLS to the package registries passes a proxy whose CA only this host's bundle has.
            shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
        slim_root(root)
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        derive = STANDIN_DERIVED_ROOTS.get(stack)
        if derive is not None:
            derived = Path(work) / "derived"
            derived.mkdir()
            derive(root, derived)
            root = derived
        partial = tarball.with_suffix(".tar.partial")
        run(["tar", "-C", root, "--numeric-owner", "-cf", partial, "."], timeout=600)
        partial.rename(tarball)
    for stale in tarball.parent.glob(f"standin-{stack}-*.tar"):
        if stale != tarball:
            stale.unlink()  # an older recipe's root file system
    return tarball


def local_standin_tag(stack: str) -> str:
    return f"imgscaffold-testbed/standin-{stack}:{SUITE}-{standin_key(stack)}"


def import_standin(engine: Engine, stack: str) -> str:
    """Import the stand-in into the engine once; later runs find it by its cache tag."""
    tag = local_standin_tag(stack)
    if engine.has_image(tag):
        return tag
    tarball = standin_tarball(stack)
    with tarball.open("rb") as data:
        done = subprocess.run(
            [
                str(engine.client), "import",
                "-c", "ENV LANG=C.UTF-8",
                "-c", f"LABEL {CACHE_LABEL}={standin_key(stack)}",
                "-", tag,
            ],
            stdin=data, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise TestbedError(f"docker import of {tarball} failed: {done.stderr[-2000:]}")
    repository = tag.rsplit(":", 1)[0]
    for stale in engine.docker(
        "images", "--format", "{{.Repository}}:{{.Tag}}", repository
    ).stdout.split():
        if stale != tag:
            engine.docker("rmi", stale, check=False)  # an older recipe's import
    return tag


def publish_standin(engine: Engine, registry: Registry, stack: str, *, nonce: str = "") -> Standin:
    """Push the stand-in to the registry and return its digest-pinned reference.

    A nonce gives a base with the same layers but a new digest, so that nothing built on
    it can come from the build cache (the benchmark's cold builds).
    """
    source = import_standin(engine, stack)
    tag = f"{SUITE}-{nonce}" if nonce else SUITE
    name = f"{registry.host}/standin/{stack}:{tag}"
    if nonce:
        engine.docker(
            "build", "--label", TEST_LABEL, "-t", name, "-",
            stdin=f"FROM {source}\nENV IMGSCAFFOLD_BENCHMARK_NONCE={nonce}\n".encode(),
        )  # fmt: skip
    else:
        engine.docker("tag", source, name)
    engine.docker("push", name, timeout=600)
    digest = registry.digest(f"standin/{stack}", tag)
    # The engine must fetch the base through the registry, as CI would, not find it by tag.
    engine.docker("rmi", name, check=False)
    return Standin(stack=stack, name=name, digest=digest)


# ---------------------------------------------------------------------------- cleanup


ANCESTORS_PER_CALL = 64
"""Images per `docker ps --filter ancestor=...` call of the sweep."""


def sweep(engine: Engine, registry_host: str, volumes_before: set[str]) -> list[str]:
    """Remove what tests created: labelled objects and every image named in our registry.

    Anonymous volumes cannot be labelled: every container of an image with a VOLUME gets
    one, and tools such as container-structure-test remove their containers without them.
    Those that appeared during the session and are now dangling are removed too.
    """
    problems: list[str] = []

    def remove(kind: str, command: Sequence[str], ids: Sequence[str]) -> None:
        if not ids:
            return
        done = engine.docker(*command, *ids, check=False, timeout=300)
        if done.returncode != 0:
            problems.append(f"{kind}: {done.stderr.strip()[:300]}")

    ours = images_named_in(engine, registry_host)
    labelled_images = engine.docker(
        "images", "-q", "--filter", f"label={TEST_LABEL}"
    ).stdout.split()
    containers = set(engine.docker("ps", "-aq", "--filter", f"label={TEST_LABEL}").stdout.split())
    # `ancestor` also matches descendants: never filter by a base image. Filters on one
    # key are OR-ed, so one call asks for many images (a call per image took minutes).
    images = [ref for ref in ours if not ref.startswith(f"{registry_host}/standin/")]
    images += labelled_images
    for start in range(0, len(images), ANCESTORS_PER_CALL):
        filters = [f"--filter=ancestor={i}" for i in images[start : start + ANCESTORS_PER_CALL]]
        containers.update(engine.docker("ps", "-aq", *filters).stdout.split())
    compose = engine.docker(
        "ps", "-a", "--filter", "label=com.docker.compose.project",
        "--format", '{{.ID}} {{.Label "com.docker.compose.project"}}',
    ).stdout.splitlines()  # fmt: skip
    containers.update(line.split()[0] for line in compose if f" {COMPOSE_PROJECT_PREFIX}" in line)
    remove("containers", ["rm", "-f", "-v"], sorted(containers))
    networks = engine.docker(
        "network", "ls", "-q", "--filter", f"label={TEST_LABEL}"
    ).stdout.split()
    networks += compose_objects(engine, "network")
    remove("networks", ["network", "rm"], networks)
    volumes = engine.docker("volume", "ls", "-q", "--filter", f"label={TEST_LABEL}").stdout.split()
    volumes += compose_objects(engine, "volume")
    volumes += sorted(anonymous_dangling_volumes(engine) - volumes_before)
    remove("volumes", ["volume", "rm", "-f"], volumes)
    remove("images", ["rmi", "-f"], ours + labelled_images)
    return problems


def anonymous_dangling_volumes(engine: Engine) -> set[str]:
    names = engine.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split()
    return {name for name in names if re.fullmatch(r"[0-9a-f]{64}", name)}


def all_volumes(engine: Engine) -> set[str]:
    return set(engine.docker("volume", "ls", "-q").stdout.split())


def images_named_in(engine: Engine, registry_host: str) -> list[str]:
    """Tags and digest references of images named in our registry.

    Never image ids: a pulled stand-in shares its id with the cached import, which stays.
    """
    listing = engine.docker(
        "images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"
    )
    refs = []
    for line in listing.stdout.splitlines():
        repository, tag, digest = line.split()
        if not repository.startswith(f"{registry_host}/"):
            continue
        if tag != "<none>":
            refs.append(f"{repository}:{tag}")
        elif digest != "<none>":
            refs.append(f"{repository}@{digest}")
    return refs


def compose_objects(engine: Engine, kind: str) -> list[str]:
    """Networks or volumes of compose projects started by the tests."""
    listing = engine.docker(
        kind, "ls", "--filter", "label=com.docker.compose.project",
        "--format", '{{.Name}} {{.Label "com.docker.compose.project"}}',
    ).stdout.splitlines()  # fmt: skip
    return [line.split()[0] for line in listing if f" {COMPOSE_PROJECT_PREFIX}" in line]


# --------------------------------------------------------------------------- the bed


@dataclass
class Testbed:
    """Engine, registry and stand-ins for one test session or benchmark run."""

    __test__ = False  # not a pytest test class, despite the name

    engine: Engine
    registry: Registry
    workdir: Path
    owns_engine: bool
    volumes_before: set[str] = field(default_factory=set)
    _standins: dict[str, Standin] = field(default_factory=dict)

    def standin(self, stack: str) -> Standin:
        """The stand-in base image of a stack, built or taken from the cache on first use."""
        if stack not in self._standins:
            self._standins[stack] = publish_standin(self.engine, self.registry, stack)
        return self._standins[stack]

    def signing_environment(self) -> dict[str, str]:
        """What a CI job that signs with a key sets: a cosign key pair made for this test
        bed on first use, its password, and no transparency log (none is reachable)."""
        key = self.workdir / "signing" / "cosign.key"
        if not key.is_file():
            key.parent.mkdir(parents=True, exist_ok=True)
            cosign = shutil.which("cosign")
            if cosign is None:
                raise TestbedError(
                    "cosign is not installed (on Debian 12: apt-get install cosign/trixie)"
                )
            run([cosign, "generate-key-pair"], cwd=key.parent, timeout=60,
                env={**os.environ, "COSIGN_PASSWORD": SIGNING_PASSWORD})  # fmt: skip
        return {
            "COSIGN_KEY": str(key),
            "COSIGN_PASSWORD": SIGNING_PASSWORD,
            "COSIGN_TLOG": "false",
        }

    def public_key(self) -> Path:
        """The public half of the signing key, as a consumer of the images gets it."""
        return Path(self.signing_environment()["COSIGN_KEY"]).with_suffix(".pub")

    def close(self) -> list[str]:
        """Sweep what the tests created, stop the registry and any engine started here."""
        try:
            problems = sweep(self.engine, self.registry.host, self.volumes_before)
        finally:
            self.registry.stop()
            if self.owns_engine:
                self.engine.stop()
            shutil.rmtree(self.workdir, ignore_errors=True)
        return problems


def open_testbed(engine: Engine | None = None) -> Testbed:
    """Start a registry (and, if needed, an engine). Raises EngineUnavailable or TestbedError."""
    workdir = Path(tempfile.mkdtemp(prefix="imgscaffold-testbed-"))
    owns_engine = engine is None
    try:
        engine = engine or ensure_engine(workdir)
        registry = start_registry(workdir)
    except BaseException:
        if owns_engine and engine is not None:
            engine.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return Testbed(
        engine=engine,
        registry=registry,
        workdir=workdir,
        owns_engine=owns_engine,
        volumes_before=all_volumes(engine),
    )


@contextlib.contextmanager
def testbed() -> Iterator[Testbed]:
    """A test bed for the length of a `with` block."""
    bed = open_testbed()
    try:
        yield bed
    finally:
        for problem in bed.close():
            print(f"testbed cleanup: {problem}", file=sys.stderr)
