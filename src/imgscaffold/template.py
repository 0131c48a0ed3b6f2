"""Where the template comes from: the copy embedded in the package and its canonical home."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from ruamel.yaml import YAML

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
    validator: str | None = None
    """copier's `validator`: a Jinja template that renders an error message, or nothing."""


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
            validator=spec.get("validator"),
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


# Copier's own extensions that need no trust; the template's Jinja uses their filters.
_COPIER_EXTENSIONS = ("jinja2_ansible_filters.AnsibleCoreFiltersExtension",)
_FALSE_WORDS = {"", "n", "no", "f", "false", "off", "~", "null", "none"}


class Expressions:
    """The Jinja of copier.yml (defaults, `when`, validators), rendered as copier renders it.

    The questionnaire uses it to offer defaults and explain a wrong answer at once; copier
    still validates every answer again when it renders.
    """

    def __init__(self, root: Path, folder_name: str) -> None:
        envops = _load_copier_yml(root).get("_envops") or {}
        self._env = SandboxedEnvironment(extensions=list(_COPIER_EXTENSIONS), **envops)
        self._folder_name = folder_name

    def render(self, text: Any, answers: dict[str, Any]) -> Any:
        """TEXT rendered with ANSWERS; values that are not text come back as they are."""
        if not isinstance(text, str):
            return text
        try:
            return self._env.from_string(text).render(
                {**answers, "_folder_name": self._folder_name}
            )
        except TemplateError as error:
            raise TemplateSourceError(f"cannot render {text!r} of copier.yml: {error}") from None

    def asked(self, question: Question, answers: dict[str, Any]) -> bool:
        """Whether copier asks QUESTION after ANSWERS (its `when`)."""
        if question.when is None:
            return True
        value = self.render(question.when, answers)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        try:
            return bool(float(text))
        except ValueError:
            return text not in _FALSE_WORDS

    def default(self, question: Question, answers: dict[str, Any]) -> Any:
        """QUESTION's default after ANSWERS, rendered."""
        value = self.render(question.default, answers)
        return value.strip() if isinstance(value, str) and "{{" in str(question.default) else value

    def problem(self, question: Question, value: Any, answers: dict[str, Any]) -> str:
        """Why VALUE is not a valid answer to QUESTION ('' when it is)."""
        if question.choices and value not in question.choices.values():
            return f"must be one of {', '.join(map(str, question.choices.values()))}"
        if not question.validator:
            return ""
        return str(self.render(question.validator, {**answers, question.name: value})).strip()

    @staticmethod
    def cast(question: Question, text: str) -> Any:
        """The answer TEXT as QUESTION's type; ValueError if it is not one."""
        if question.type == "int":
            return int(text)
        if question.type == "float":
            return float(text)
        return text


@cache
def _quoting(root: Path) -> Any:
    env = SandboxedEnvironment(loader=FileSystemLoader(root), extensions=list(_COPIER_EXTENSIONS))
    return env.from_string("{% import 'template/.partials/quote.jinja' as q %}{{ q.yaml(value) }}")


def yaml_scalar(value: str) -> str:
    """VALUE as the template writes it into YAML (the quote partial's `yaml` macro).

    imgscaffold rewrites lines of the answers file; written so, they read exactly as a
    render by copier alone would have written them.
    """
    return str(_quoting(embedded_template()).render(value=value))
