"""The template inside the wheel renders exactly what the git repository renders."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import copier
import pytest

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import create_repository
from imgscaffold.template import embedded_template
from tests.helpers import REPO_ROOT

ANSWERS = {"service_name": "orders", "registry": "localhost:5000", "service_port": 9090}


def _tree(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == ".git" or not path.is_file():
            continue
        content = path.read_bytes()
        if rel.name == ".copier-answers.yml":
            # Where the template came from differs by design; the answers must not.
            content = b"".join(
                line
                for line in content.splitlines(keepends=True)
                if not line.startswith((b"_src_path:", b"_commit:"))
            )
        files[str(rel)] = content
    return files


@pytest.fixture(scope="module")
def clean_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = tmp_path_factory.mktemp("clone") / "imgscaffold"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    return clone


def test_wheel_render_equals_git_render(clean_clone: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(clean_clone),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("imgscaffold-*.whl")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
        # zipfile drops file modes; pip keeps them, and so must this copy.
        for info in archive.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (unpacked / info.filename).chmod(mode)
    embedded = unpacked / "imgscaffold" / "_template"
    assert (embedded / "copier.yml").is_file()

    from_wheel = tmp_path / "a" / "orders"
    from_git = tmp_path / "b" / "orders"
    copier.run_copy(str(embedded), from_wheel, data=ANSWERS, defaults=True, quiet=True)
    copier.run_copy(
        str(clean_clone), from_git, data=ANSWERS, defaults=True, quiet=True, vcs_ref="HEAD"
    )
    wheel_files, git_files = _tree(from_wheel), _tree(from_git)
    assert sorted(wheel_files) == sorted(git_files)
    for name in wheel_files:
        assert wheel_files[name] == git_files[name], name
    # File modes matter too: scripts must stay executable.
    for name in wheel_files:
        assert (from_wheel / name).stat().st_mode == (from_git / name).stat().st_mode, name


def test_new_renders_what_copier_renders_from_the_embedded_template(tmp_path: Path) -> None:
    created = create_repository(tmp_path / "a" / "orders", layers=AnswerLayers(cli=ANSWERS))
    plain = tmp_path / "b" / "orders"
    copier.run_copy(
        str(embedded_template()), plain, data=ANSWERS, defaults=True, quiet=True, vcs_ref="HEAD"
    )
    assert _tree(created.path) == _tree(plain)
