"""What the engine tests know about each stack's service; a new stack adds its facts here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.e2e import artifacts

if TYPE_CHECKING:
    from tests.e2e.testbed.bed import Testbed

SERVICE_PROCESS = {
    "python": "/app/server.py",
    "node": "/app/server.js",
    "artifact": "/app/server.py",
    # The go binary is named after the service; it is the only program in /usr/local/bin.
    "go": "/usr/local/bin/",
}
"""What the service's command line contains (to find it among the container's processes)."""

PACKAGE_LIST = {
    "python": "python.txt",
    "node": "node.txt",
    "artifact": "artifact.txt",
    "go": "go.txt",
}
"""The language package list the image carries next to os.txt."""

APP_ENTRY = {
    "python": Path("app/server.py"),
    "node": Path("app/server.js"),
    "artifact": Path("artifact/src/server.py"),
    "go": Path("app/main.go"),
}
"""The sample service's main source file (edited to break the service on purpose)."""

BREAK_BEFORE = {"python": "import ", "node": "const ", "artifact": "import ", "go": "func main("}
"""A line start in APP_ENTRY before which a statement that stops the service can go."""

BREAKING_STATEMENT = {
    "python": "raise SystemExit({message!r})\n",
    "node": "process.stderr.write({message!r} + '\\n');\nprocess.exit(1);\n",
    "artifact": "raise SystemExit({message!r})\n",
    "go": 'func init() {{\n\tprintln("{message}")\n\tos.Exit(1)\n}}\n\n',
}
"""A statement that makes the service exit with `message` as soon as it starts."""

DEPENDENCY_MANIFEST = {
    "python": Path("app/requirements.txt"),
    "node": Path("app/package.json"),
    "go": Path("app/go.mod"),
}
"""Where the sample service declares its third-party packages (the artifact stack's
service comes as a released archive and declares none)."""

LINE_COMMENT = {"python": "# ", "node": "// ", "artifact": "# ", "go": "// "}
"""How a comment line starts in APP_ENTRY (the benchmark appends one as a source change)."""

BASE_STANDIN: dict[str, str] = {"artifact": "python", "go": "distroless-static"}
"""The stand-in (testbed.standins.STANDIN_PACKAGES key) for the stack's BASE_IMAGE, where it is
not the stack's own name."""

SHELL_FREE = frozenset({"go"})
"""Stacks whose final image holds no shell and no program but the service binary, so
`docker run IMAGE echo hi` fails with exit code 127 instead of printing `hi`."""


def base_standin(stack: str) -> str:
    """The testbed stand-in that replaces the stack's BASE_IMAGE."""
    return BASE_STANDIN.get(stack, stack)


def build_environment(bed: Testbed, stack: str, repo: Path) -> dict[str, str]:
    """What the stack's builds of `repo` need besides BASE_IMAGE: its own build arguments
    (`build_args` in its stack.jinja), pointing at test bed resources."""
    if stack == "artifact":
        return artifact_build_environment(repo)
    if stack == "go":
        return {"BUILDER_IMAGE": bed.standin("go").reference}
    return {}


def artifact_build_environment(repo: Path, version: str = artifacts.VERSION) -> dict[str, str]:
    """ARTIFACT_* for the release that `repo`'s own artifact/package.sh makes of its
    sample source, served on loopback, so the build downloads what the checkout holds."""
    release = artifacts.publish_release(repo, version)
    name = release.path.name
    pattern = release.url.removesuffix(name) + name.replace(
        f"-{version}.tar.gz", "-{version}.tar.gz"
    )
    return {
        "ARTIFACT_URL": pattern,
        "ARTIFACT_VERSION": version,
        "ARTIFACT_SHA256": release.sha256,
        # The server listens on the test process's loopback, which only host networking reaches.
        "BUILD_NETWORK": "host",
    }
