"""Rules on the CI configuration and its scripts (family `ci`)."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Rule, Severity

_COMMIT = re.compile(
    r"GITHUB_SHA|github\.sha|CI_COMMIT_(SHORT_)?SHA|GIT_COMMIT|BUILD_SOURCEVERSION|CIRCLE_SHA1|"
    r"DRONE_COMMIT|BITBUCKET_COMMIT|BUILDKITE_COMMIT|COMMIT_SHA|SHORT_SHA|git rev-parse|type=sha"
)
_LATEST = re.compile(
    r"(:latest\b|value=latest\b|\blatest=true\b|tags?:.*\blatest\b|tag\b.*\blatest\b)"
)
_DIRTY = re.compile(
    r"git status --porcelain|git diff (--quiet|--exit-code)|git diff-index --quiet|dirty"
)
_CONTAINER_TEST = re.compile(
    r"container-structure-test|docker run|docker compose up|docker-compose up|goss|dgoss|"
    r"testinfra|bats|trivy image|docker container run|structure-test"
)


class CiRule(Rule):
    family = "ci"
    requires = frozenset({"IMG115"})

    def findings(self, repo: Repository) -> list[Finding] | None:
        if not repo.ci_files or not repo.dockerfiles:
            return None
        return self.check_ci(repo, {p: repo.read(p) or "" for p in [*repo.ci_files, *repo.scripts]})

    def check_ci(self, repo: Repository, texts: dict[str, str]) -> list[Finding]:
        raise NotImplementedError


class AutomatedBuilds(Rule):
    """CI builds the image"""

    id = "IMG115"
    row = 15
    family = "ci"
    severity = Severity.WARNING
    fix = (
        "Add a CI pipeline (GitHub Actions, GitLab CI, Jenkins, ...) that builds, tests "
        "and pushes the image; releases only from there."
    )

    def findings(self, repo: Repository) -> list[Finding] | None:
        if not repo.dockerfiles:
            return None
        if repo.ci_files:
            return []
        return [self.finding("no CI configuration found: who builds the released images?")]


class UniqueTag(CiRule):
    """CI tags every build with a unique tag that names the commit"""

    id = "IMG006"
    row = 6
    severity = Severity.WARNING
    fix = (
        "Tag each build <branch>-<short sha>-<timestamp> "
        "(or pr-<n>-...) from the CI's commit variable, e.g. ${GITHUB_SHA::7}."
    )

    def check_ci(self, repo: Repository, texts: dict[str, str]) -> list[Finding]:
        if any(_COMMIT.search(text) for text in texts.values()):
            return []
        return [self.finding("no CI file or script uses the commit SHA", repo.ci_files[0], None)]


class LatestOnlyOnRelease(CiRule):
    """Only the release path sets `latest`"""

    id = "IMG007"
    row = 7
    severity = Severity.WARNING
    fix = (
        "Move `latest` to the release job, "
        "and only when the release is the highest stable version "
        "(docker/metadata-action: flavor latest=false)."
    )

    def check_ci(self, repo: Repository, texts: dict[str, str]) -> list[Finding]:
        found = []
        for path, text in texts.items():
            if "release" in path.lower():
                continue
            top = job = ""
            for number, line in enumerate(text.splitlines(), start=1):
                code = line.split("#", 1)[0]
                # The job a line belongs to: a top-level key (GitLab), a key under `jobs:`
                # (GitHub Actions), or a Jenkins stage('...').
                key = re.match(r"^([\w.-]+):", code)
                nested = re.match(r"^  ([\w.-]+):\s*$", code)
                stage = re.search(r"\bstage\s*\(\s*['\"]([^'\"]+)", code)
                if key:
                    top = job = key.group(1).lower()
                elif nested and top == "jobs":
                    job = nested.group(1).lower()
                elif stage:
                    job = stage.group(1).lower()
                if "release" in job:
                    continue
                if _LATEST.search(code):
                    found.append(
                        self.finding("`latest` is set outside the release path", path, number)
                    )
                elif (
                    "docker/metadata-action" in code
                    and "latest=false" not in text
                    and "type=semver" in text
                ):
                    found.append(
                        self.finding(
                            "docker/metadata-action sets `latest` on every semver tag", path, number
                        )
                    )
        return found


class CleanTree(CiRule):
    """CI refuses to build from a dirty working tree"""

    id = "IMG110"
    row = 10
    severity = Severity.INFO
    fix = (
        "Fail the build when `git status --porcelain` prints anything: "
        "the image must match its commit."
    )

    def check_ci(self, repo: Repository, texts: dict[str, str]) -> list[Finding]:
        if any(_DIRTY.search(text) for text in texts.values()):
            return []
        return [
            self.finding("no CI file or script checks for a dirty tree", repo.ci_files[0], None)
        ]


class ContainerTests(CiRule):
    """CI tests the running container before it pushes"""

    id = "IMG113"
    row = 13
    severity = Severity.WARNING
    fix = (
        "Run the image in CI and test it "
        "(container-structure-test, HTTP acceptance tests, health) before any push."
    )

    def check_ci(self, repo: Repository, texts: dict[str, str]) -> list[Finding]:
        tests = [
            p
            for p in repo.files
            if p.startswith(("tests/", "test/")) and p.endswith((".sh", ".yaml", ".yml", ".bats"))
        ]
        if any(_CONTAINER_TEST.search(text) for text in texts.values()) or any(
            _CONTAINER_TEST.search(repo.read(p) or "") for p in tests
        ):
            return []
        return [
            self.finding("no CI step runs or tests the built container", repo.ci_files[0], None)
        ]
