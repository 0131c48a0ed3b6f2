"""Where the linters of the rendered CI files are, and what a test does without one.

zizmor comes with the test extras. Node.js tools (Renovate, npm-groovy-lint and the newer
Node.js that Renovate needs) live in one npm prefix outside the checkout: `.ci/run`
installs them, pinned, and exports it as IMGSCAFFOLD_NPM_TOOLS; elsewhere the same
default place is looked in. A missing tool skips its tests, except with
IMGSCAFFOLD_REQUIRE_ENGINE=1 (CI), where it fails them: CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

REQUIRE = "IMGSCAFFOLD_REQUIRE_ENGINE"
NPM_TOOLS = "IMGSCAFFOLD_NPM_TOOLS"
DEFAULT_NPM_TOOLS = Path.home() / ".cache" / "imgscaffold" / "npm"
INSTALL_HINT = "bash .ci/run installs it"
T = TypeVar("T")


class ToolMissing(Exception):
    """A tool is not installed; the message says which, and how to install it."""


def missing(reason: str) -> NoReturn:
    """Skip the test for a missing tool, or fail it where tools are required."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{REQUIRE}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require(find: Callable[[], T]) -> T:
    """What `find` finds, or the test skips (fails in CI) for the missing tool."""
    try:
        return find()
    except ToolMissing as exc:
        missing(str(exc))


def npm_prefix() -> Path:
    """The npm prefix that holds the pinned Node.js tools."""
    return Path(os.environ.get(NPM_TOOLS) or DEFAULT_NPM_TOOLS)


def npm_package(name: str) -> Path:
    """The folder of an npm package installed in the tools prefix."""
    folder = npm_prefix() / "node_modules" / name
    if not (folder / "package.json").is_file():
        raise ToolMissing(f"the npm package {name} is not in {npm_prefix()} ({INSTALL_HINT})")
    return folder


def node() -> Path:
    """The Node.js of the npm package `node` (Renovate needs a newer one than Debian's)."""
    binary = npm_package("node") / "bin" / "node"
    if not binary.is_file():
        raise ToolMissing(f"{binary} is missing ({INSTALL_HINT})")
    return binary


def renovate() -> tuple[Path, Path]:
    """Node.js and Renovate's entry point."""
    return node(), npm_package("renovate") / "dist" / "renovate.js"


def npm_groovy_lint() -> tuple[Path, Path]:
    """Node.js and npm-groovy-lint's entry point, once there is a java for its CodeNarc."""
    if shutil.which("java") is None:
        raise ToolMissing(
            "java is not on PATH: npm-groovy-lint needs it (apt-get install default-jre-headless)"
        )
    return node(), npm_package("npm-groovy-lint") / "lib" / "index.js"


def zizmor() -> str:
    """zizmor, from the test extras: beside this Python, or on PATH."""
    beside = Path(sys.executable).parent / "zizmor"
    found = str(beside) if beside.exists() else shutil.which("zizmor")
    if found is None:
        raise ToolMissing("zizmor is missing: install the test extras (pip install -e '.[test]')")
    return found
