"""Every rendered file passes its linter or schema, for a spread of answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgscaffold.create import NewRepository
from imgscaffold.template import choices

SPREAD = {
    "defaults": {},
    "custom": {
        "service_name": "a.b_c-d9",
        "organisation": "Globex Corporation (EMEA)",
        "registry": "localhost:5000",
        "image_repository": "team/sub/a.b_c-d9",
        "service_port": "9090",
        "health_path": "/status/live",
        "data_dir": "/var/lib/orders",
        "license": "LicenseRef-Proprietary",
        "description": "Keeps orders, (mostly) safe: 100% of them!",
    },
    # Real-world text that each file must quote for its own syntax.
    "quoted": {
        "service_name": "null",
        "description": 'Bob\'s "orders" & $HOME \\ `x`; <b>*fast*</b> €-prices # Zoë',
        "organisation": "Müller & Söhne GmbH",
        "maintainer_name": "Zoë O'Brien",
        "maintainer_email": "zoe.o'brien@example.com",
        "registry": "[::1]:5000",
        "repository_url": "git@github.com:platform/orders.git",
        "health_path": "/health/ready?probe=docker&x='1'",
        "data_dir": "/srv/my data",
        "license": "apache-2.0 with llvm-exception",
    },
}
VARIANTS = {
    f"{name}-{stack}-{ci}": {**answers, "stack": stack, "ci_provider": ci}
    for name, answers in SPREAD.items()
    for stack in choices("stack")
    for ci in choices("ci_provider")
}
SCHEMAS = {
    "compose.yaml": "vendor.compose-spec",
    ".github/workflows/*.yml": "vendor.github-workflows",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
    "renovate.json": "vendor.renovate",
}


def tool(name: str) -> str:
    """A linter installed with the test extras (next to this Python) or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is missing: install the test extras (pip install -e '.[test]')"
    return found


def _run(*command: str, cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"


def _shell_scripts(repo: Path) -> list[Path]:
    scripts = []
    for path in sorted(repo.rglob("*")):
        if ".git" in path.parts or not path.is_file():
            continue
        head = path.read_bytes()[:64]
        if path.suffix == ".sh" or head.startswith(
            (b"#!/bin/sh", b"#!/bin/bash", b"#!/usr/bin/env bash", b"#!/usr/bin/env sh")
        ):
            scripts.append(path)
    return scripts


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from imgscaffold.answers import AnswerLayers
    from imgscaffold.create import create_repository

    dest = tmp_path_factory.mktemp("render") / request.param
    result: NewRepository = create_repository(
        dest, layers=AnswerLayers(cli=VARIANTS[request.param])
    )
    return result.path


def test_dockerfiles_pass_hadolint(repo: Path) -> None:
    dockerfiles = sorted(repo.rglob("Dockerfile*"))
    assert dockerfiles
    for dockerfile in dockerfiles:
        _run(tool("hadolint"), "--failure-threshold", "warning", str(dockerfile), cwd=repo)


def test_shell_scripts_pass_shellcheck(repo: Path) -> None:
    scripts = _shell_scripts(repo)
    assert len(scripts) >= 5, scripts
    _run(tool("shellcheck"), "--external-sources", *map(str, scripts), cwd=repo)


def test_scripts_people_run_are_executable(repo: Path) -> None:
    for script in _shell_scripts(repo):
        assert script.stat().st_mode & 0o111, f"{script} is not executable"


@pytest.mark.parametrize(("pattern", "schema"), sorted(SCHEMAS.items()))
def test_yaml_and_json_match_their_schema(repo: Path, pattern: str, schema: str) -> None:
    files = sorted(repo.glob(pattern))
    if pattern.startswith(".github") and not (repo / ".github").exists():
        pytest.skip("not a GitHub Actions variant")
    if pattern == ".gitlab-ci.yml" and not files:
        pytest.skip("not a GitLab CI variant")
    assert files, pattern
    _run(tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files), cwd=repo)


def test_no_jinja_leftovers_or_blank_line_litter(repo: Path) -> None:
    # `{{` is legitimate in rendered files (Go templates of `docker inspect`, GitHub
    # expressions); Jinja statements and comments never are.
    for path in repo.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in ("{%", "%}", "{#", "#}"):
            assert marker not in text, f"{path.relative_to(repo)} contains {marker}"
        # Python separates top-level definitions with two blank lines; elsewhere one is enough.
        litter = "\n\n\n\n" if path.suffix == ".py" else "\n\n\n"
        assert litter not in text, f"{path.relative_to(repo)} has blank-line litter"


def test_answers_file_is_valid_yaml_json_roundtrip(repo: Path) -> None:
    from ruamel.yaml import YAML

    answers = YAML(typ="safe").load((repo / ".copier-answers.yml").read_text())
    json.dumps(answers)
    assert answers["_src_path"]


def test_json_yaml_python_and_javascript_parse(repo: Path) -> None:
    from ruamel.yaml import YAML

    for path in sorted(repo.rglob("*")):
        if ".git" in path.parts or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix in (".yml", ".yaml"):
            YAML(typ="safe").load(text)
        elif path.suffix == ".py":
            compile(text, str(path), "exec")
    node = shutil.which("node")
    for script in sorted(repo.rglob("*.js")) if node else []:
        _run(node, "--check", str(script), cwd=repo)
