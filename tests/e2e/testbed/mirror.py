"""The Debian mirror the stand-in base images are made from.

Nothing here reaches an engine or a network: tests/unit imports this module alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

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
