"""Each CI provider's variable mapping in the rendered ci/lib.sh (`ci_context`).

For every `ci_provider` choice of copier.yml, the rendered ci/lib.sh is sourced by `sh`
with the variables that provider sets for a branch build, a pull/merge request and a
release tag (the same simulation the engine tests use, tests/e2e/providers.py), and must
name the same branch, request number, tag, unique tag and build URL. No engine needed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import copier
import pytest

from tests.e2e import providers
from tests.e2e.providers import CiEvent, branch_build, pull_request_build, release_build
from tests.e2e.variants import question_choices

REPO_ROOT = Path(__file__).resolve().parents[2]
REPOSITORY_URL = "https://code.example.org/team/demo"
TIMESTAMP = "1764201600"

pytestmark = pytest.mark.filterwarnings("ignore:Dirty template changes:UserWarning")

EVENTS: dict[str, tuple[CiEvent, dict[str, str]]] = {
    # event, what ci_context must find (the unique tag's name part under "slug")
    "branch": (
        branch_build("feature/Login page"),
        {"CI_KIND": "branch", "CI_BRANCH": "feature/Login page", "CI_PR_NUMBER": "",
         "CI_TAG": "", "slug": "feature-login-page"},
    ),
    "pull-request": (
        pull_request_build(42, head_branch="feature/notes"),
        {"CI_KIND": "pr", "CI_BRANCH": "feature/notes", "CI_PR_NUMBER": "42", "CI_TAG": "",
         "slug": "pr-42"},
    ),
    "tag": (
        release_build("v1.2.3"),
        {"CI_KIND": "tag", "CI_BRANCH": "", "CI_PR_NUMBER": "", "CI_TAG": "v1.2.3",
         "slug": "v1.2.3"},
    ),
}  # fmt: skip
PROVIDERS = question_choices("ci_provider", REPO_ROOT / "copier.yml")


@pytest.fixture(scope="module", params=PROVIDERS)
def provider_repo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, str]:
    """The template rendered for one provider, committed once: (provider, repo, commit)."""
    provider = str(request.param)
    repo = tmp_path_factory.mktemp(f"context-{provider}") / "demo"
    copier.run_copy(
        str(REPO_ROOT), str(repo), data={"ci_provider": provider, "repository_url": REPOSITORY_URL},
        defaults=True, unsafe=False, quiet=True,
    )  # fmt: skip

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "init")
    return provider, repo, git("rev-parse", "HEAD")


def context(repo: Path, env: dict[str, str]) -> dict[str, str]:
    """What ci_context and ci_unique_tag give under `env` (and nothing from outside)."""
    names = ("CI_PROVIDER", "CI_KIND", "CI_BRANCH", "CI_PR_NUMBER", "CI_TAG", "CI_BUILD_URL")
    printer = "; ".join(f'printf "%s=%s\\n" {n} "${n}"' for n in (*names, "CI_COMMIT"))
    printer += '; printf "unique=%s\\n" "$(ci_unique_tag)"'
    done = subprocess.run(
        ["sh", "-c", f". ci/lib.sh; ci_context; {printer}"],
        cwd=repo, env={**providers.scrubbed(os.environ), "BUILD_TIMESTAMP": TIMESTAMP, **env},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


@pytest.mark.parametrize("event_id", sorted(EVENTS))
def test_provider_variables_name_the_build(
    provider_repo: tuple[str, Path, str], event_id: str
) -> None:
    provider, repo, commit = provider_repo
    event, expected = EVENTS[event_id]
    env = providers.ci_environment(provider, event, commit=commit, repository_url=REPOSITORY_URL)
    found = context(repo, env)
    assert found["CI_PROVIDER"] == provider
    assert found["CI_COMMIT"] == commit
    for key in ("CI_KIND", "CI_BRANCH", "CI_PR_NUMBER", "CI_TAG"):
        assert found[key] == expected[key], (key, found)
    assert found["unique"] == f"{expected['slug']}-{commit[:7]}-{TIMESTAMP}"
    if provider == "jenkins":
        # A multibranch job's run URL names the branch's job.
        assert found["CI_BUILD_URL"] == env["BUILD_URL"]
    else:
        assert found["CI_BUILD_URL"] == providers.build_url(provider, REPOSITORY_URL)


def test_without_provider_variables_the_context_is_generic(
    provider_repo: tuple[str, Path, str],
) -> None:
    _, repo, commit = provider_repo
    found = context(repo, {"CI_PR_NUMBER": "9"})
    assert (found["CI_PROVIDER"], found["CI_KIND"], found["CI_PR_NUMBER"]) == ("generic", "pr", "9")
    assert found["unique"] == f"pr-9-{commit[:7]}-{TIMESTAMP}"


def test_every_provider_has_its_context_mapping_and_readme() -> None:
    for provider in PROVIDERS:
        partials = REPO_ROOT / "template" / ".partials" / "ci" / provider
        assert (partials / "context.sh.jinja").is_file(), provider
        assert (partials / "README.md.jinja").is_file(), provider
