"""The stand-ins take their Debian mirror from the machine, as a team behind a company
mirror needs: the environment variable, else apt's own sources, else deb.debian.org."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.testbed.mirror import DEFAULT_MIRROR, MIRROR_ENV, debian_mirror


def apt(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "sources.list.d").mkdir(exist_ok=True)
    return tmp_path


def test_the_environment_variable_wins(tmp_path: Path) -> None:
    root = apt(tmp_path, {"sources.list": "deb http://apt.corp/debian bookworm main\n"})
    assert debian_mirror({MIRROR_ENV: "http://proxy.corp/debian/"}, root) == (
        "http://proxy.corp/debian"
    )


def test_a_deb822_source_for_the_suite_is_used(tmp_path: Path) -> None:
    root = apt(
        tmp_path,
        {
            "sources.list.d/debian.sources": (
                "Types: deb\nURIs: http://security.corp/debian-security\n"
                "Suites: bookworm-security\nComponents: main\n\n"
                "Types: deb\n# a snapshot\nURIs: http://mirror.corp/debian/\n"
                "Suites: bookworm bookworm-updates\nComponents: main\n"
            ),
            "sources.list.d/trixie.sources": (
                "Types: deb\nURIs: http://other.corp/debian\nSuites: trixie\n"
            ),
        },
    )
    assert debian_mirror({}, root) == "http://mirror.corp/debian"


def test_a_one_line_source_is_used(tmp_path: Path) -> None:
    root = apt(
        tmp_path,
        {
            "sources.list": (
                "# deb http://commented.corp/debian bookworm main\n"
                "deb-src http://src.corp/debian bookworm main\n"
                "deb [signed-by=/usr/share/keyrings/k.gpg] http://apt.corp/debian bookworm main\n"
            )
        },
    )
    assert debian_mirror({}, root) == "http://apt.corp/debian"


def test_without_a_source_for_the_suite_it_is_debians_own(tmp_path: Path) -> None:
    root = apt(tmp_path, {"sources.list": "deb http://apt.corp/ubuntu noble main\n"})
    assert debian_mirror({}, root) == DEFAULT_MIRROR
    assert debian_mirror({}, tmp_path / "missing") == DEFAULT_MIRROR


def test_the_mirror_module_loads_no_engine_code() -> None:
    """Unit tests import the mirror lookup; that must not bring in the engine, the
    registry or the stand-ins (nor anything that could start them)."""
    probe = (
        "import sys, tests.e2e.testbed.mirror; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('tests.e2e'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.split() == ["tests.e2e", "tests.e2e.testbed", "tests.e2e.testbed.mirror"]
