"""Every rendered file passes its linter or schema, for a spread of answers (tests/unit/spread.py,
rendered in the background from the start of the session)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.unit.spread import VARIANTS, Renders, script_key, shell_scripts, tool

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


def _run(*command: str, cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def renders(spread_rendered: tuple[Renders, dict[str, str]]) -> Renders:
    return spread_rendered[0]


@pytest.fixture(params=sorted(VARIANTS))
def repo(request: pytest.FixtureRequest, renders: Renders) -> Path:
    return renders.get(request.param)


@pytest.fixture(scope="session")
def shellcheck_verdicts(spread_rendered: tuple[Renders, dict[str, str]]) -> dict[str, str]:
    """shellcheck's findings ("" when none) for every distinct script of the spread."""
    return spread_rendered[1]


def test_dockerfiles_pass_hadolint(repo: Path) -> None:
    dockerfiles = sorted(repo.rglob("Dockerfile*"))
    assert dockerfiles
    for dockerfile in dockerfiles:
        _run(tool("hadolint"), "--failure-threshold", "warning", str(dockerfile), cwd=repo)


def test_shell_scripts_pass_shellcheck(repo: Path, shellcheck_verdicts: dict[str, str]) -> None:
    scripts = shell_scripts(repo)
    assert len(scripts) >= 5, scripts
    findings = [shellcheck_verdicts[script_key(repo, script)] for script in scripts]
    assert not any(findings), "shellcheck --external-sources:\n" + "\n".join(filter(None, findings))


def test_scripts_people_run_are_executable(repo: Path) -> None:
    for script in shell_scripts(repo):
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
