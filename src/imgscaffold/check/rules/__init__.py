"""The rules of `imgscaffold check`, one module per checklist row or family, and their catalogue."""

# The rules follow repo-review's check protocol (a family, an optional `requires`, a
# `check()` that takes fixtures), and the entry points in pyproject.toml name the functions
# below, so they also run under `repo-review` and its web tooling. Each rule registers
# itself (Rule.__init_subclass__); importing every module here registers them all.

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from imgscaffold.check.repository import Repository, load_repository
from imgscaffold.check.rule import Rule, registered
from imgscaffold.check.rules.image import ImageRule
from imgscaffold.check.rules.supply_chain import SupplyChainRule

__all__ = [
    "IMAGE_RULES",
    "RULES",
    "SUPPLY_CHAIN_RULES",
    "RuleInfo",
    "catalogue",
    "families",
    "repo_review_checks",
    "repo_review_families",
    "repository",
]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

#: Every rule on a repository's files, in ID order within checklist rows.
RULES: list[Rule] = registered(Rule)
#: Every rule on a built image, in ID order within checklist rows.
IMAGE_RULES: list[ImageRule] = registered(ImageRule)
#: Every rule on what a registry holds beside a pushed image, in the order it is read.
SUPPLY_CHAIN_RULES: list[SupplyChainRule] = registered(SupplyChainRule)

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
        "A built image, from `docker image inspect`, and what its registry holds beside it: "
        "signature, SBOM, provenance (imgscaffold check --image).",
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
    rules: list[Rule] = [*RULES, *IMAGE_RULES, *SUPPLY_CHAIN_RULES]
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
