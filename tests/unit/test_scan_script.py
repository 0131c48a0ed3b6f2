"""The rendered ci/scan.sh: the opt-in vulnerability scan and its waiver file.

grype cannot run here (its database is downloaded on use), so these tests prove the
script's own contract: off unless VULN_SCAN=1, clear errors for what is missing, and the
command it hands to grype (a recording stand-in on PATH). Whether grype then finds what
it should is grype's business and is not tested here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import copier
import pytest
from ruamel.yaml import YAML

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("scan") / "repo"
    copier.run_copy(str(REPO_ROOT), str(dst), defaults=True, unsafe=False, quiet=True)
    return dst


def scan(repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ci/scan.sh"], cwd=repo, capture_output=True, text=True, timeout=30, check=False,
        env={"PATH": env.pop("PATH", "/usr/bin:/bin"), "HOME": str(repo), **env},
    )  # fmt: skip


@pytest.fixture
def with_sbom(repo: Path) -> Iterator[Path]:
    sbom = repo / "build" / "sbom.spdx.json"
    sbom.parent.mkdir(exist_ok=True)
    sbom.write_text('{"spdxVersion": "SPDX-2.3", "packages": []}\n')
    yield sbom
    sbom.unlink()


@pytest.fixture
def grype(tmp_path: Path) -> Path:
    """A stand-in for grype that records its arguments and exits with $GRYPE_EXIT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "grype"
    stub.write_text('#!/bin/sh\nprintf \'%s\\n\' "$@" > "$GRYPE_ARGS"\nexit "${GRYPE_EXIT:-0}"\n')
    stub.chmod(0o755)
    return bin_dir


def test_the_scan_is_off_unless_asked_for(repo: Path) -> None:
    done = scan(repo)
    assert done.returncode == 0, done.stderr
    assert "vulnerability scan: off (set VULN_SCAN=1" in done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VULN_FAIL_ON": "severe"}, "VULN_FAIL_ON is 'severe'"),
        ({}, "no build/sbom.spdx.json: run ci/build.sh"),
    ],
)
def test_what_is_missing_is_one_clear_error(repo: Path, env: dict[str, str], message: str) -> None:
    done = scan(repo, VULN_SCAN="1", **env)
    assert done.returncode == 1
    assert message in done.stderr, done.stderr


def test_without_grype_it_fails_naming_the_readme(repo: Path, with_sbom: Path) -> None:
    done = scan(repo, VULN_SCAN="1")
    assert done.returncode == 1
    assert "grype is not on PATH" in done.stderr and "README.md" in done.stderr


@pytest.mark.parametrize(("level", "exit_code"), [("high", 0), ("critical", 1)])
def test_grype_scans_the_sbom_with_the_waivers_and_the_level(
    repo: Path, with_sbom: Path, grype: Path, tmp_path: Path, level: str, exit_code: int
) -> None:
    args = tmp_path / "args"
    done = scan(
        repo, VULN_SCAN="1", VULN_FAIL_ON=level, GRYPE_ARGS=str(args),
        GRYPE_EXIT=str(exit_code), PATH=f"{grype}{os.pathsep}/usr/bin:/bin",
    )  # fmt: skip
    assert done.returncode == exit_code, done.stderr
    assert args.read_text().split() == [
        "sbom:build/sbom.spdx.json", "--config", ".grype.yaml", "--fail-on", level,
    ]  # fmt: skip


def test_the_waiver_file_waives_nothing_and_its_example_is_well_formed(repo: Path) -> None:
    text = (repo / ".grype.yaml").read_text()
    assert YAML(typ="safe").load(text) == {"ignore": []}
    example = "\n".join(
        line.removeprefix("# ") for line in text.splitlines()
        if line.startswith("# ") and line[2:3] in (" ", "i")
    )  # fmt: skip
    waivers = YAML(typ="safe").load(example)["ignore"]
    assert waivers and all(w.get("reason") for w in waivers), waivers


def test_without_the_waiver_file_it_fails_instead_of_waiving_nothing_silently(
    repo: Path, with_sbom: Path, grype: Path, tmp_path: Path
) -> None:
    waivers = repo / ".grype.yaml"
    kept = waivers.read_text()
    waivers.unlink()
    try:
        done = scan(
            repo, VULN_SCAN="1", GRYPE_ARGS=str(tmp_path / "args"),
            PATH=f"{grype}{os.pathsep}/usr/bin:/bin",
        )  # fmt: skip
    finally:
        waivers.write_text(kept)
    assert done.returncode == 1
    assert "no .grype.yaml" in done.stderr
    assert not (tmp_path / "args").exists(), "grype ran without the waiver file"
