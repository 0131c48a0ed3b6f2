"""Stand-ins for the official base images, made with debootstrap and pushed to the registry.

Nothing can be pulled from public registries here, so each stack's base image is a Debian
root file system shaped like it, cached per machine and pinned by digest in the registry.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.testbed.engine import TEST_LABEL, Engine, TestbedError, run
from tests.e2e.testbed.mirror import MIRROR, SUITE
from tests.e2e.testbed.registry import Registry
from tests.stackfacts import NpmPackage, all_stacks

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CACHE_LABEL = "io.imgscaffold.testbed.key"

STANDIN_PACKAGES: dict[str, tuple[str, ...]] = {
    **{s.name: s.standin_packages for s in all_stacks() if s.standin_packages},
    # The packages whose files gcr.io/distroless/static holds; the stand-in's root file
    # system is derived from this debootstrap (STANDIN_DERIVED_ROOTS).
    "distroless-static": ("ca-certificates", "tzdata", "netbase"),
}
"""The Debian packages that make a stand-in for each official base image, keyed by stack
(`standin.packages` in its stack.toml) or, for images no stack is named after, by the
image's own short name."""

STANDIN_APT_PACKAGES: dict[str, tuple[str, ...]] = {
    s.name: s.standin_apt_packages for s in all_stacks() if s.standin_apt_packages
}
"""Packages installed with apt-get in the chroot after debootstrap, per stack (for
packages debootstrap cannot configure in its own pass; `standin.apt_packages`)."""

STANDIN_NPM_PACKAGES: dict[str, tuple[NpmPackage, ...]] = {
    s.name: s.standin_npm_packages for s in all_stacks() if s.standin_npm_packages
}
"""npm packages installed globally in the stand-in, per stack, as the official image has
them (`standin.npm`)."""


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


def cache_dir() -> Path:
    """Where slow results (debootstrap tarballs) are kept between runs on one machine."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "imgscaffold" / "testbed"


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
            f"no stand-in base image defined for stack {stack!r}: give it standin.packages"
            " in its stack.toml"
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
