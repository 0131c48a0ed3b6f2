"""Every stack declares its facts once, in template/.partials/stacks/<stack>/stack.toml,
and copier.yml, which has to name the stacks inline, agrees with those declarations."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests import stackfacts

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIER = YAML(typ="safe").load((REPO_ROOT / "copier.yml").read_text())


def copier_stack_choices() -> list[str]:
    choices = COPIER["stack"]["choices"]
    return [str(v) for v in (choices.values() if isinstance(choices, dict) else choices)]


def copier_base_image_defaults() -> dict[str, str]:
    """The inline `{'python': '...', ...}[stack]` of base_image's default."""
    default = COPIER["base_image"]["default"]
    match = re.fullmatch(r"\{\{\s*(\{.*\})\[stack\]\s*\}\}", default.strip(), re.S)
    assert match, f"base_image's default is no longer a per-stack dict: {default!r}"
    value = ast.literal_eval(match.group(1))
    assert isinstance(value, dict)
    return {str(k): str(v) for k, v in value.items()}


def test_the_stack_question_offers_exactly_the_declared_stacks() -> None:
    assert sorted(copier_stack_choices()) == stackfacts.stack_names(), (
        "copier.yml's stack choices and the folders of template/.partials/stacks/ with a"
        " stack.toml must name the same stacks"
    )


def test_copier_default_stack_is_declared() -> None:
    assert COPIER["stack"]["default"] in stackfacts.stack_names()


def test_base_image_defaults_are_the_declared_ones() -> None:
    declared = {s.name: s.base_image for s in stackfacts.all_stacks()}
    assert copier_base_image_defaults() == declared, (
        "copier.yml's base_image default must list each stack's base_image from its stack.toml"
    )


@pytest.mark.parametrize("name", stackfacts.stack_names())
def test_each_stack_folder_has_the_partials_of_a_stack(name: str) -> None:
    folder = stackfacts.STACKS_DIR / name
    assert (folder / "stack.jinja").is_file()
    assert (folder / "README.dependencies.md.jinja").is_file()


def test_every_partials_folder_declares_its_facts() -> None:
    folders = sorted(p.name for p in stackfacts.STACKS_DIR.iterdir() if p.is_dir())
    assert folders == stackfacts.stack_names(), "a stack folder without a stack.toml"


@pytest.mark.parametrize("name", stackfacts.stack_names())
def test_the_declared_stand_in_exists(name: str) -> None:
    facts = stackfacts.stack(name)
    bases = {s.name for s in stackfacts.all_stacks() if s.standin_packages}
    bases.add("distroless-static")  # defined by the test bed itself
    assert facts.base_standin in bases
    assert set(facts.build_arg_standins.values()) <= bases


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("[service]", "[service]\nprocesss = 'x'", "processs"),  # an unknown key
        ('process = "/app/server.py"\n', "", "process"),  # a required key left out
    ],
    ids=["unknown-key", "missing-key"],
)
def test_a_stack_toml_with_a_wrong_key_fails_loudly(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    source = (stackfacts.STACKS_DIR / "python" / "stack.toml").read_text()
    assert old in source
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "stack.toml").write_text(source.replace(old, new))
    with pytest.raises(stackfacts.StackFactsError, match=named):
        stackfacts.all_stacks(tmp_path)


def test_the_facts_module_loads_no_engine_code() -> None:
    probe = (
        "import sys, tests.stackfacts; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('tests.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.split() == ["tests.stackfacts"]
