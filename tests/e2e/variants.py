"""Every rendered repository the template can produce, and rendering one for the engine tests.

The variants are read from copier.yml (every `stack` choice times every `ci_provider`
choice), so a new stack or provider is covered by the engine tests as soon as it is offered.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
from ruamel.yaml import YAML

from tests import stackfacts

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_ROOT = Path(os.environ.get("IMGSCAFFOLD_E2E_TEMPLATE") or REPO_ROOT)
"""The template to render: this working tree, or a mutated copy when testing the tests."""
COPIER_YML = TEMPLATE_ROOT / "copier.yml"

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "imgscaffold e2e",
    "GIT_AUTHOR_EMAIL": "e2e@example.org",
    "GIT_COMMITTER_NAME": "imgscaffold e2e",
    "GIT_COMMITTER_EMAIL": "e2e@example.org",
}


@dataclass(frozen=True)
class Variant:
    """One combination of answers that changes what is rendered: stack and CI provider."""

    stack: str
    provider: str
    full: bool = True
    """Whether every engine test runs for it, or only those marked `every_provider`."""

    @property
    def id(self) -> str:
        return f"{self.stack}-{self.provider}"

    @property
    def facts(self) -> stackfacts.Stack:
        """What the stack declares in its stack.toml."""
        return stackfacts.stack(self.stack)


def question_choices(question: str, copier_yml: Path = COPIER_YML) -> list[str]:
    """The values (not the labels) a copier question offers."""
    spec = YAML(typ="safe").load(copier_yml.read_text())[question]
    choices = spec["choices"]
    values = list(choices.values()) if isinstance(choices, dict) else list(choices)
    return [str(v["value"] if isinstance(v, dict) else v) for v in values]


ALL_PROVIDERS_IN_FULL = "IMGSCAFFOLD_E2E_ALL_PROVIDERS"
"""Set to 1 to run every engine test for every stack with every provider."""


def discover_variants(copier_yml: Path = COPIER_YML) -> list[Variant]:
    """Every stack with the first CI provider, and every other provider with some stacks.

    The image does not depend on the provider, only the variables the scripts read and
    the CI file's environment do, and those are the same for every stack (ci/lib.sh maps
    them once). So each stack runs the whole suite with the first provider (`full`), and
    each other provider runs the subset marked `every_provider` (the CI build, its labels,
    ci/test.sh, pushes and releases) with the stacks in turn: every stack meets exactly
    one other provider and every provider at least one stack (with more providers than
    stacks, some stacks meet several). IMGSCAFFOLD_E2E_ALL_PROVIDERS=1 runs everything
    for every stack with every provider.
    """
    providers = question_choices("ci_provider", copier_yml)
    stacks = question_choices("stack", copier_yml)
    if os.environ.get(ALL_PROVIDERS_IN_FULL) == "1":
        return [Variant(stack, provider) for stack in stacks for provider in providers]
    first, others = providers[0], providers[1:]
    pairs = {(stack, first) for stack in stacks}
    if others:
        for index in range(max(len(stacks), len(others))):
            pairs.add((stacks[index % len(stacks)], others[index % len(others)]))
    return [
        Variant(stack=stack, provider=provider, full=provider == first)
        for stack in stacks
        for provider in providers
        if (stack, provider) in pairs
    ]


def answers_for(variant: Variant, registry_host: str) -> dict[str, Any]:
    """Answers that differ from the defaults where a default could hide a hard-coded value.

    The text answers are real-world ones that every file must quote for its own syntax
    (apostrophes, double quotes, '&', '$', a backslash, non-ASCII letters; a health path
    with a query, a data directory with a space, a clone address): the engine tests prove
    they arrive intact in the image's labels and that the image still works.
    """
    return {
        "service_name": f"notes-{variant.stack}",
        "description": 'Keeps Bob\'s "short" notes & $HOME \\ paths; €-prices for the e2e tests.',
        "organisation": "Müller & Söhne GmbH",
        "maintainer_name": "Zoë O'Brien",
        "maintainer_email": "zoe.o'brien@example.org",
        "registry": registry_host,
        "image_repository": f"e2e/notes-{variant.id}",
        "stack": variant.stack,
        "ci_provider": variant.provider,
        "service_port": 8123,
        "health_path": "/livez?probe=docker&full=1",
        "data_dir": "/var/lib/notes data",
        "license": "MIT OR Apache-2.0",
        "repository_url": f"git@git.example.org:e2e/notes-{variant.id}.git",
    }


def repository_web_url(variant: Variant) -> str:
    """The web address of the repository that `answers_for` names by its clone address.

    It is what the code host's CI variables carry and what the source label must say.
    """
    return f"https://git.example.org/e2e/notes-{variant.id}"


def git(repo: Path, *args: str, timeout: float = 60) -> str:
    """Run git in a rendered repository with a fixed identity; returns stdout."""
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout.strip()


def render(variant: Variant, destination: Path, registry_host: str) -> dict[str, Any]:
    """Render the working tree's template and commit it on `main`; returns the answers used."""
    answers = answers_for(variant, registry_host)
    with warnings.catch_warnings():
        # The template is the uncommitted working tree while it is being developed.
        warnings.simplefilter("ignore")
        copier.run_copy(
            str(TEMPLATE_ROOT), destination, data=answers, defaults=True, unsafe=False, quiet=True
        )
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "Render the repository with imgscaffold")
    recorded = YAML(typ="safe").load((destination / ".copier-answers.yml").read_text())
    return {**answers, **{k: v for k, v in recorded.items() if not k.startswith("_")}}
