"""The environment each CI provider sets for a branch, a pull-request and a release-tag build.

The rendered `ci/` scripts read these variables (mapped once, in `ci/lib.sh`). The engine
tests run the scripts with exactly what the provider would set, so a provider that this
module does not know makes the tests fail: add it here when the template gains it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlparse

from ruamel.yaml import YAML

from tests.e2e import jenkinsfile

EventKind = Literal["branch", "pull_request", "tag"]

RUN_ID = "4242424242"

SCRUBBED_PREFIXES = (
    "GITHUB_",
    "GITLAB_",
    "CI_",
    "RUNNER_",
    "BUILDKITE",
    "CIRCLE",
    "JENKINS",
    "TRAVIS",
    "CHANGE_",
)
SCRUBBED_NAMES = frozenset(
    {"CI", "IMAGE_NAME", "BASE_IMAGE", "BUILD_TIMESTAMP", "REGISTRY_TLS_VERIFY"}
    # Jenkins sets these without a common prefix.
    | {"BRANCH_NAME", "TAG_NAME", "BUILD_URL", "BUILD_NUMBER", "BUILD_ID", "JOB_NAME", "JOB_URL"}
    | {"GIT_COMMIT", "GIT_BRANCH", "GIT_URL", "GIT_PREVIOUS_COMMIT"}
)
"""Variables a developer's or a real CI's environment might leak into the simulated one."""


class UnknownProvider(Exception):
    """A `ci_provider` choice of copier.yml that the engine tests cannot simulate yet."""


@dataclass(frozen=True)
class CiEvent:
    """What triggered a pipeline: a branch push, a pull request or a release tag."""

    kind: EventKind
    name: str
    """The branch name, the pull request's head branch, or the tag."""
    pr_number: int = 0
    base_branch: str = "main"


def branch_build(branch: str = "main") -> CiEvent:
    return CiEvent(kind="branch", name=branch)


def pull_request_build(
    number: int, head_branch: str = "feature/notes", base_branch: str = "main"
) -> CiEvent:
    return CiEvent(kind="pull_request", name=head_branch, pr_number=number, base_branch=base_branch)


def release_build(tag: str) -> CiEvent:
    return CiEvent(kind="tag", name=tag)


def github_environment(event: CiEvent, *, commit: str, repository_url: str) -> dict[str, str]:
    """What GitHub Actions sets for `push` (branch or tag) and `pull_request` workflows."""
    if event.kind == "pull_request":
        ref = f"refs/pull/{event.pr_number}/merge"
        ref_name, ref_type, head, base = (
            f"{event.pr_number}/merge",
            "branch",
            event.name,
            event.base_branch,
        )
    elif event.kind == "tag":
        ref, ref_name, ref_type, head, base = f"refs/tags/{event.name}", event.name, "tag", "", ""
    else:
        ref, ref_name, ref_type, head, base = (
            f"refs/heads/{event.name}",
            event.name,
            "branch",
            "",
            "",
        )
    url = urlparse(repository_url)
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request" if event.kind == "pull_request" else "push",
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref_name,
        "GITHUB_REF_TYPE": ref_type,
        "GITHUB_HEAD_REF": head,
        "GITHUB_BASE_REF": base,
        "GITHUB_SHA": commit,
        "GITHUB_RUN_ID": RUN_ID,
        "GITHUB_SERVER_URL": f"{url.scheme}://{url.netloc}",
        "GITHUB_REPOSITORY": url.path.strip("/"),
    }


def github_build_url(repository_url: str) -> str:
    """The page of the workflow run, as GitHub links it."""
    return f"{repository_url.rstrip('/')}/actions/runs/{RUN_ID}"


def github_job_environment(repo: Path, script: str) -> dict[str, str]:
    """The literal `env:` of the workflow, job and step that run `script`."""
    found: list[dict[str, str]] = []
    for workflow_file in sorted((repo / ".github" / "workflows").glob("*.y*ml")):
        workflow = YAML(typ="safe").load(workflow_file.read_text()) or {}
        for job in (workflow.get("jobs") or {}).values():
            for step in job.get("steps") or []:
                if script in str(step.get("run", "")).split():
                    found.append(
                        {
                            **literal(workflow.get("env")),
                            **literal(job.get("env")),
                            **literal(step.get("env")),
                        }
                    )
    if len(found) != 1:
        raise AssertionError(f"{len(found)} workflow steps run {script}; expected exactly one")
    return found[0]


def literal(env: Any) -> dict[str, str]:
    """Variables with literal values; expressions such as secrets stay unset here."""
    return {str(k): str(v) for k, v in (env or {}).items() if "${{" not in str(v)}


def gitlab_environment(event: CiEvent, *, commit: str, repository_url: str) -> dict[str, str]:
    """What GitLab CI sets for branch, merge request and tag pipelines."""
    url = urlparse(repository_url)
    project = repository_url.rstrip("/")
    env = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_SERVER_URL": f"{url.scheme}://{url.netloc}",
        "CI_PROJECT_URL": project,
        "CI_PROJECT_PATH": url.path.strip("/"),
        "CI_DEFAULT_BRANCH": "main",
        "CI_COMMIT_SHA": commit,
        "CI_COMMIT_SHORT_SHA": commit[:8],
        "CI_COMMIT_REF_NAME": event.name,
        "CI_PIPELINE_ID": RUN_ID,
        "CI_PIPELINE_URL": gitlab_build_url(repository_url),
        "CI_JOB_ID": RUN_ID + "1",
        "CI_JOB_URL": f"{project}/-/jobs/{RUN_ID}1",
    }
    if event.kind == "pull_request":
        # Merge request pipelines have no CI_COMMIT_BRANCH.
        env.update(
            {
                "CI_PIPELINE_SOURCE": "merge_request_event",
                "CI_MERGE_REQUEST_IID": str(event.pr_number),
                "CI_MERGE_REQUEST_ID": str(event.pr_number + 100000),
                "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": event.name,
                "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": event.base_branch,
            }
        )
    elif event.kind == "tag":
        env.update({"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": event.name})
    else:
        env.update({"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": event.name})
    return env


def gitlab_build_url(repository_url: str) -> str:
    """The page of the pipeline, as GitLab links it."""
    return f"{repository_url.rstrip('/')}/-/pipelines/{RUN_ID}"


GITLAB_ENGINE_VARIABLES = ("DOCKER_",)
"""Where the rendered file's jobs find their docker:dind service. The simulation is a
shell runner with its own engine (which the rendered README describes), the test bed's."""


def gitlab_job_environment(repo: Path, script: str) -> dict[str, str]:
    """The literal `variables:` of the pipeline and of the one job whose script runs `script`."""
    config = YAML(typ="safe").load((repo / ".gitlab-ci.yml").read_text()) or {}
    found: list[dict[str, str]] = []
    for name, job in config.items():
        if not isinstance(job, dict) or name in ("default", "workflow", "variables"):
            continue
        lines = [str(line) for line in job.get("script") or []]
        if any(script in line.split() for line in lines):
            found.append(
                {**gitlab_literal(config.get("variables")), **gitlab_literal(job.get("variables"))}
            )
    if len(found) != 1:
        raise AssertionError(f"{len(found)} GitLab jobs run {script}; expected exactly one")
    return {k: v for k, v in found[0].items() if not k.startswith(GITLAB_ENGINE_VARIABLES)}


def gitlab_literal(variables: Any) -> dict[str, str]:
    """Variables with literal values; references such as $CI_REGISTRY_PASSWORD stay unset."""
    result: dict[str, str] = {}
    for key, value in (variables or {}).items():
        value = value.get("value", "") if isinstance(value, dict) else value
        if "$" not in str(value):
            result[str(key)] = str(value)
    return result


JENKINS_URL = "https://jenkins.example.org/"


def jenkins_environment(event: CiEvent, *, commit: str, repository_url: str) -> dict[str, str]:
    """What a Jenkins multibranch pipeline sets for a branch, a change request and a tag."""
    branch_name = f"PR-{event.pr_number}" if event.kind == "pull_request" else event.name
    env = {
        "JENKINS_URL": JENKINS_URL,
        "BUILD_NUMBER": RUN_ID,
        "BUILD_ID": RUN_ID,
        "BUILD_URL": jenkins_build_url(repository_url, branch_name),
        "JOB_NAME": f"{jenkins_project(repository_url)}/{branch_name}",
        "BRANCH_NAME": branch_name,
        "GIT_COMMIT": commit,
        "GIT_URL": repository_url.rstrip("/") + ".git",
    }
    if event.kind == "pull_request":
        env.update(
            {
                "CHANGE_ID": str(event.pr_number),
                "CHANGE_BRANCH": event.name,
                "CHANGE_TARGET": event.base_branch,
                "CHANGE_URL": f"{repository_url.rstrip('/')}/pull/{event.pr_number}",
            }
        )
    elif event.kind == "tag":
        env["TAG_NAME"] = event.name
    else:
        env["GIT_BRANCH"] = event.name
    return env


def jenkins_project(repository_url: str) -> str:
    return urlparse(repository_url).path.strip("/").rsplit("/", 1)[-1]


def jenkins_build_url(repository_url: str, branch_name: str = "main") -> str:
    """The page of the multibranch job's run (of `main`, unless another branch is named)."""
    job = quote(branch_name, safe="")
    return f"{JENKINS_URL}job/{jenkins_project(repository_url)}/job/{job}/{RUN_ID}/"


def jenkins_job_environment(repo: Path, script: str) -> dict[str, str]:
    """The literal `environment` of the pipeline and of the one stage whose `sh` runs `script`."""
    root = jenkinsfile.pipeline((repo / "Jenkinsfile").read_text())
    found: list[dict[str, str]] = []
    for _, stage in jenkinsfile.stages(root):
        runs = [
            node
            for node in stage.walk()
            if node.name == "sh" and any(script in s.split() for s in node.strings())
        ]
        if runs:
            found.append({**jenkinsfile.environment(root), **jenkinsfile.environment(stage)})
    if len(found) != 1:
        raise AssertionError(f"{len(found)} Jenkinsfile stages run {script}; expected exactly one")
    return found[0]


PROVIDERS = {
    "github": (github_environment, github_build_url, github_job_environment),
    "gitlab": (gitlab_environment, gitlab_build_url, gitlab_job_environment),
    "jenkins": (jenkins_environment, jenkins_build_url, jenkins_job_environment),
}


def known_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise UnknownProvider(
            f"copier.yml offers ci_provider {provider!r}, which tests/e2e/providers.py cannot "
            f"simulate; add the variables its CI sets for branch, pull-request and tag builds "
            f"(known: {', '.join(sorted(PROVIDERS))})"
        )


def ci_environment(
    provider: str, event: CiEvent, *, commit: str, repository_url: str
) -> dict[str, str]:
    """The provider's variables for one pipeline run on `commit`."""
    known_provider(provider)
    environment, _, _ = PROVIDERS[provider]
    return environment(event, commit=commit, repository_url=repository_url)


def build_url(provider: str, repository_url: str) -> str:
    """The URL of the simulated run, which images carry as `io.imgscaffold.build.url`."""
    known_provider(provider)
    _, url, _ = PROVIDERS[provider]
    return url(repository_url)


def job_environment(provider: str, repo: Path, script: str) -> dict[str, str]:
    """What the rendered CI file itself sets for the step that runs `script` (e.g. `ci/test.sh`)."""
    known_provider(provider)
    _, _, job = PROVIDERS[provider]
    return job(repo, script)


def scrubbed(environment: Mapping[str, str]) -> dict[str, str]:
    """The environment without any CI or override variables leaking in from outside."""
    return {
        key: value
        for key, value in environment.items()
        if key not in SCRUBBED_NAMES and not key.startswith(SCRUBBED_PREFIXES)
    }
