"""Where the template comes from: the copy embedded in the package and its canonical home."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from imgscaffold import __version__
from imgscaffold.errors import TemplateSourceError

#: Where generated repositories say they came from, so `copier update` and Renovate find it.
DEFAULT_CANONICAL_SOURCE = "https://github.com/imgscaffold/imgscaffold.git"
CANONICAL_SOURCE_ENV = "IMGSCAFFOLD_CANONICAL_SOURCE"


@dataclass(frozen=True)
class Question:
    """One question of the template, as copier.yml states it."""

    name: str
    type: str
    help: str
    default: Any
    choices: dict[str, Any] | None
    when: Any = None
    """copier's `when`: a Jinja expression of earlier answers; None means always asked."""


def release_ref() -> str:
    """The git tag of the template release that this package embeds."""
    return f"v{__version__}"


def canonical_source(override: str | None = None) -> str:
    """The template repository that generated repositories point at."""
    return override or os.environ.get(CANONICAL_SOURCE_ENV) or DEFAULT_CANONICAL_SOURCE


def embedded_template() -> Path:
    """The template shipped in the package, or the source checkout in a development install."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "_template", package_dir.parents[1]):
        if (candidate / "copier.yml").is_file() and (candidate / "template").is_dir():
            return candidate
    raise TemplateSourceError(
        "the embedded template is missing from this installation; reinstall imgscaffold "
        "or pass --template SRC"
    )


@cache
def _load_copier_yml(root: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((root / "copier.yml").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TemplateSourceError(f"{root / 'copier.yml'} is not a mapping")
    return data


def questions(root: Path | None = None) -> list[Question]:
    """The template's questions in the order copier asks them."""
    data = _load_copier_yml(root or embedded_template())
    return [
        Question(
            name=name,
            type=str(spec.get("type", "str")),
            help=str(spec.get("help", "")).strip(),
            default=spec.get("default"),
            choices=spec.get("choices"),
            when=spec.get("when"),
        )
        for name, spec in data.items()
        if not name.startswith("_") and isinstance(spec, dict)
    ]


def choices(question: str, root: Path | None = None) -> list[str]:
    """The values a choice question accepts (e.g. every stack or CI provider)."""
    for q in questions(root):
        if q.name == question:
            return [str(v) for v in (q.choices or {}).values()]
    raise KeyError(question)
