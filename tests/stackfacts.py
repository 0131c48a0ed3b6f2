"""The facts each stack declares in template/.partials/stacks/<stack>/stack.toml.

The stacks are the folders there that hold a stack.toml; template/.partials/stacks/
python/stack.toml documents every key. The unit tests, the engine tests, the test bed's
stand-ins, the docs hooks and the benchmarks read stacks from here, so this module
imports nothing of the engine tests and starts nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

STACKS_DIR = Path(__file__).resolve().parents[1] / "template" / ".partials" / "stacks"
FACTS_FILE = "stack.toml"


class StackFactsError(Exception):
    """A stack.toml is missing a key, has one it should not, or names an unknown stack."""


@dataclass(frozen=True)
class NpmPackage:
    """A package from the npm registry, checked against the integrity its metadata gives."""

    name: str
    version: str
    integrity: str
    """`dist.integrity` of https://registry.npmjs.org/NAME/VERSION (sha512, base64)."""

    @property
    def tarball_url(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name}-{self.version}.tgz"


@dataclass(frozen=True)
class Stack:
    """One stack's facts (see python/stack.toml for the meaning of each)."""

    name: str
    base_image: str
    # [service]
    service_process: str
    package_list: str
    app_entry: Path
    break_before: str
    breaking_statement: str
    line_comment: str
    dependency_manifest: Path | None
    shell_free: bool
    purl_type: str | None
    # [standin]
    base_standin: str
    standin_packages: tuple[str, ...]
    standin_apt_packages: tuple[str, ...]
    standin_npm_packages: tuple[NpmPackage, ...]
    build_arg_standins: dict[str, str] = field(hash=False)
    release_build_args: bool
    # [benchmark]
    hand_written: str
    hand_written_base: str | None
    dependency_steps: tuple[str, ...]
    hand_written_install: str


_KEYS = {
    "": {"base_image", "service", "standin", "benchmark"},
    "service": {
        "process", "package_list", "entry", "break_before", "breaking_statement",
        "line_comment", "dependency_manifest", "shell_free", "purl_type",
    },
    "standin": {"base", "packages", "apt_packages", "npm", "build_args", "release_build_args"},
    "benchmark": {"hand_written", "hand_written_base", "dependency_steps", "hand_written_install"},
}  # fmt: skip


def _check_keys(path: Path, table: dict[str, Any], section: str) -> None:
    unknown = set(table) - _KEYS[section]
    if unknown:
        where = f"[{section}]" if section else "the top level"
        raise StackFactsError(f"{path}: unknown keys in {where}: {sorted(unknown)}")


def _stack(path: Path) -> Stack:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    _check_keys(path, data, "")
    service, standin, bench = (data.get(s, {}) for s in ("service", "standin", "benchmark"))
    for section, table in (("service", service), ("standin", standin), ("benchmark", bench)):
        _check_keys(path, table, section)
    name = path.parent.name
    try:
        manifest = service.get("dependency_manifest")
        return Stack(
            name=name,
            base_image=data["base_image"],
            service_process=service["process"],
            package_list=service["package_list"],
            app_entry=Path(service["entry"]),
            break_before=service["break_before"],
            breaking_statement=service["breaking_statement"],
            line_comment=service["line_comment"],
            dependency_manifest=Path(manifest) if manifest else None,
            shell_free=bool(service.get("shell_free", False)),
            purl_type=service.get("purl_type"),
            base_standin=standin.get("base", name),
            standin_packages=tuple(standin.get("packages", ())),
            standin_apt_packages=tuple(standin.get("apt_packages", ())),
            standin_npm_packages=tuple(NpmPackage(**p) for p in standin.get("npm", ())),
            build_arg_standins=dict(standin.get("build_args", {})),
            release_build_args=bool(standin.get("release_build_args", False)),
            hand_written=bench["hand_written"],
            hand_written_base=bench.get("hand_written_base"),
            dependency_steps=tuple(bench["dependency_steps"]),
            hand_written_install=bench["hand_written_install"],
        )
    except KeyError as exc:
        raise StackFactsError(f"{path}: missing key {exc.args[0]!r}") from exc


@cache
def _all(stacks_dir: Path) -> dict[str, Stack]:
    return {path.parent.name: _stack(path) for path in sorted(stacks_dir.glob(f"*/{FACTS_FILE}"))}


def all_stacks(stacks_dir: Path = STACKS_DIR) -> tuple[Stack, ...]:
    """Every declared stack, by folder name."""
    return tuple(_all(stacks_dir).values())


def stack_names(stacks_dir: Path = STACKS_DIR) -> list[str]:
    """The names of the declared stacks, sorted."""
    return list(_all(stacks_dir))


def stack(name: str, stacks_dir: Path = STACKS_DIR) -> Stack:
    """One stack's facts; a name without a stack.toml fails loudly."""
    try:
        return _all(stacks_dir)[name]
    except KeyError:
        raise StackFactsError(
            f"no {stacks_dir / name / FACTS_FILE}: every stack declares its facts there"
        ) from None
