"""Every rendered file passes its linter or schema, for a spread of answers."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import create_repository
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
#: The files of one CI provider only: their schema applies to its variants alone.
PROVIDER_FILES = {".github/workflows/*.yml": "github", ".gitlab-ci.yml": "gitlab"}
SCHEMA_CASES = [
    (variant, pattern, schema)
    for variant in sorted(VARIANTS)
    for pattern, schema in sorted(SCHEMAS.items())
    if PROVIDER_FILES.get(pattern, VARIANTS[variant]["ci_provider"])
    == VARIANTS[variant]["ci_provider"]
]
_SOURCED = re.compile(r"^\s*# shellcheck source=(\S+)", re.M)


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


@dataclass
class Renders:
    """Each variant rendered once for the whole session, when a test first asks for it."""

    root: Path
    done: dict[str, Path] = field(default_factory=dict)

    def get(self, variant: str) -> Path:
        if variant not in self.done:
            dest = self.root / variant
            self.done[variant] = create_repository(
                dest, layers=AnswerLayers(cli=VARIANTS[variant])
            ).path
        return self.done[variant]

    def all(self) -> Iterator[Path]:
        return (self.get(variant) for variant in sorted(VARIANTS))


@pytest.fixture(scope="session")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Renders:
    return Renders(tmp_path_factory.mktemp("render"))


@pytest.fixture(params=sorted(VARIANTS))
def repo(request: pytest.FixtureRequest, renders: Renders) -> Path:
    return renders.get(request.param)


def script_key(repo: Path, script: Path) -> str:
    """What shellcheck's verdict on SCRIPT depends on: its path, its text and the files it
    sources (followed with --external-sources), so equal keys get the same verdict."""
    text = script.read_bytes()
    digest = hashlib.sha256(script.relative_to(repo).as_posix().encode() + b"\0" + text)
    for sourced in _SOURCED.findall(text.decode(errors="replace")):
        path = repo / sourced
        digest.update(b"\0" + sourced.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


@pytest.fixture(scope="session")
def shellcheck_verdicts(renders: Renders) -> dict[str, str]:
    """shellcheck's findings ("" when none) for every distinct script of every variant.

    Most scripts render the same in many variants; each distinct one (with what it
    sources) is checked once, in the first repository that has it.
    """
    batches: dict[Path, list[tuple[str, Path]]] = {}
    seen: set[str] = set()
    for repo in renders.all():
        for script in _shell_scripts(repo):
            key = script_key(repo, script)
            if key not in seen:
                seen.add(key)
                batches.setdefault(repo, []).append((key, script))

    def check(repo: Path, scripts: list[tuple[str, Path]]) -> dict[str, str]:
        command = [tool("shellcheck"), "--external-sources", "--format=json1"]
        done = subprocess.run(
            [*command, *(str(path) for _, path in scripts)],
            cwd=repo, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        comments = json.loads(done.stdout or "{}").get("comments", [])
        # shellcheck names a file as it was given, or a sourced one relative to REPO.
        checked = {path.resolve() for _, path in scripts}
        elsewhere = [c for c in comments if (repo / c["file"]).resolve() not in checked]
        assert not elsewhere, f"shellcheck in {repo} about files not checked: {elsewhere}"
        verdicts = {}
        for key, path in scripts:
            found = [c for c in comments if (repo / c["file"]).resolve() == path.resolve()]
            verdicts[key] = "\n".join(
                f"{path.relative_to(repo)}:{c['line']}: SC{c['code']} {c['message']}" for c in found
            )
        return verdicts

    verdicts: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for result in pool.map(lambda item: check(*item), batches.items()):
            verdicts.update(result)
    return verdicts


def test_dockerfiles_pass_hadolint(repo: Path) -> None:
    dockerfiles = sorted(repo.rglob("Dockerfile*"))
    assert dockerfiles
    for dockerfile in dockerfiles:
        _run(tool("hadolint"), "--failure-threshold", "warning", str(dockerfile), cwd=repo)


def test_shell_scripts_pass_shellcheck(repo: Path, shellcheck_verdicts: dict[str, str]) -> None:
    scripts = _shell_scripts(repo)
    assert len(scripts) >= 5, scripts
    findings = [shellcheck_verdicts[script_key(repo, script)] for script in scripts]
    assert not any(findings), "shellcheck --external-sources:\n" + "\n".join(filter(None, findings))


def test_scripts_people_run_are_executable(repo: Path) -> None:
    for script in _shell_scripts(repo):
        assert script.stat().st_mode & 0o111, f"{script} is not executable"


@pytest.fixture(scope="session")
def schema_verdicts(renders: Renders) -> dict[tuple[str, str], list[str]]:
    """check-jsonschema's errors for each (variant, pattern) of SCHEMA_CASES: one run per
    schema over every variant's files, as starting it costs more than checking a file."""
    files: dict[str, dict[str, tuple[str, str]]] = {}
    for variant, pattern, schema in SCHEMA_CASES:
        for path in sorted(renders.get(variant).glob(pattern)):
            files.setdefault(schema, {})[str(path)] = (variant, pattern)
    verdicts: dict[tuple[str, str], list[str]] = {
        (variant, pattern): [] for variant, pattern, _ in SCHEMA_CASES
    }

    def check(schema: str) -> None:
        command = [tool("check-jsonschema"), "--builtin-schema", schema, "--output-format", "json"]
        done = subprocess.run(
            [*command, *files[schema]], capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode in (0, 1), done.stderr
        result = json.loads(done.stdout)
        for error in result.get("errors", []) + result.get("parse_errors", []):
            name = error.get("filename", "")
            case = files[schema].get(name)
            assert case is not None, f"check-jsonschema {schema}: {error}"
            verdicts[case].append(f"{name}: {error.get('path', '')} {error.get('message', '')}")

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(check, files))
    return verdicts


@pytest.mark.parametrize(("variant", "pattern", "schema"), SCHEMA_CASES)
def test_yaml_and_json_match_their_schema(
    renders: Renders,
    schema_verdicts: dict[tuple[str, str], list[str]],
    variant: str,
    pattern: str,
    schema: str,
) -> None:
    files = sorted(renders.get(variant).glob(pattern))
    assert files, pattern
    errors = schema_verdicts[(variant, pattern)]
    assert not errors, f"check-jsonschema --builtin-schema {schema}:\n" + "\n".join(errors)


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
    answers = YAML(typ="safe").load((repo / ".copier-answers.yml").read_text())
    json.dumps(answers)
    assert answers["_src_path"]


def test_json_yaml_python_and_javascript_parse(repo: Path) -> None:
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
