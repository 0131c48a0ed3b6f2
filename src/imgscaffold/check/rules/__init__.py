"""The checks of `imgscaffold check`: one rule per checked property of the checklist.

The rules follow repo-review's check protocol (a family, an optional `requires`, a
`check()` that takes fixtures), and the entry points below register them, so they also
run under `repo-review` and its web tooling.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources.abc import Traversable

from imgscaffold.check.repository import Repository, load_repository
from imgscaffold.check.rule import GUIDE_URL, SLUGS, Finding, Rule, Severity
from imgscaffold.check.rules import ci, compose, dockerfile, image, scripts, supply_chain

__all__ = [
    "GUIDE_URL",
    "RULES",
    "SLUGS",
    "Finding",
    "Rule",
    "RuleInfo",
    "Severity",
    "catalogue",
    "families",
    "repo_review_checks",
    "repo_review_families",
    "repository",
]

#: Every rule on a repository's files, in ID order.
RULES: list[Rule] = sorted(
    [*dockerfile.RULES, *scripts.RULES, *compose.RULES, *ci.RULES],
    key=lambda rule: (rule.row, rule.id),
)

_FAMILIES = {
    "dockerfile": (
        "Dockerfile",
        0,
        "The Dockerfiles: user, entrypoint, base images, labels, health, volumes.",
    ),
    "scripts": ("Scripts", 1, "What the image runs at start-up and how it is built locally."),
    "compose": ("Compose", 2, "The compose files that run the images built here."),
    "ci": ("CI", 3, "The pipeline: unique tags, latest, clean trees, container tests."),
    "image": (
        "Image",
        4,
        "A built image, from `docker image inspect`, and what its registry holds beside "
        "it: signature, SBOM, provenance (imgscaffold check --image).",
    ),
}


@dataclass(frozen=True)
class RuleInfo:
    """A rule's metadata, for the docs and the reports."""

    id: str
    row: int
    family: str
    title: str
    severity: str
    fix: str
    url: str


def catalogue() -> list[RuleInfo]:
    """Every rule, on repositories and on images, in ID order within checklist rows."""
    rules: list[Rule] = [*RULES, *image.RULES, *supply_chain.RULES]
    return [
        RuleInfo(
            id=rule.id,
            row=rule.row,
            family=rule.family,
            title=rule.title(),
            severity=str(rule.severity),
            fix=rule.fix,
            url=rule.url,
        )
        for rule in sorted(rules, key=lambda r: (r.row, r.id))
    ]


def families() -> dict[str, dict[str, str | int]]:
    """The families with their display name, order and description."""
    return {
        key: {"name": name, "order": order, "description": description}
        for key, (name, order, description) in _FAMILIES.items()
    }


def repository(root: Traversable) -> Repository:
    """repo-review fixture `imgscaffold_repo`: the repository as the checks see it."""
    return load_repository(root)


def repo_review_checks() -> dict[str, Rule]:
    """repo-review entry point: the checks by ID."""
    return {rule.id: rule for rule in RULES}


def repo_review_families() -> dict[str, dict[str, str | int]]:
    """repo-review entry point: the families of the repository rules."""
    return {key: value for key, value in families().items() if key != "image"}
