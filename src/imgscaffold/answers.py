"""Answers to the template's questions: where they come from and how the layers combine.

Layers, weakest first: the template's own defaults < values derived from the machine
(git identity) < the organisation preset < the data file < `--data KEY=VALUE`.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgscaffold.errors import AnswerError, InputFileError

PRESET_ENV = "IMGSCAFFOLD_PRESET"

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# The template rejects these in free text; derived values that contain them are not offered.
_UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f\"'`$\\;&|<>]")
_VALIDATION = re.compile(r"Validation error for question '(?P<name>[^']+)': (?P<msg>.*)")
_ANSWER_PROBLEM = re.compile(r"^(Invalid choice for|Question .* is required)")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class AnswerLayers:
    """Answers from every source, kept apart until copier needs them."""

    derived: dict[str, Any] = field(default_factory=dict)
    preset: dict[str, Any] = field(default_factory=dict)
    data_file: dict[str, Any] = field(default_factory=dict)
    cli: dict[str, Any] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        """Values offered as defaults in an interactive run (still asked)."""
        return {**self.derived, **self.preset}

    def fixed(self) -> dict[str, Any]:
        """Values that answer their question outright (not asked)."""
        return {**self.data_file, **self.cli}

    def merged(self) -> dict[str, Any]:
        """Every layer, strongest last, for a non-interactive run."""
        return {**self.defaults(), **self.fixed()}

    def given_keys(self) -> set[str]:
        """Keys the user supplied (not derived), to check against the template's questions."""
        return set(self.preset) | set(self.data_file) | set(self.cli)


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Turn `KEY=VALUE` strings into a mapping; the value may contain '='."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise AnswerError(f"--data expects KEY=VALUE with a question name as KEY, got {item!r}")
        result[key] = value
    return result


def load_answers_file(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML (or JSON) mapping of question names to answers."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise InputFileError(f"{what} {path} is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"cannot read {what} {path}: {error}") from None
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "invalid YAML"
        raise InputFileError(f"{what} {path} is not valid YAML: {first_line}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputFileError(f"{what} {path} must be a mapping of question names to answers")
    bad = [str(k) for k in data if not isinstance(k, str) or not _KEY.match(k)]
    if bad:
        raise InputFileError(
            f"{what} {path} has keys that are not question names: {', '.join(bad)}"
        )
    return dict(data)


def derive_from_machine() -> dict[str, Any]:
    """Defaults the template cannot know: the maintainer from the git identity."""
    derived: dict[str, Any] = {}
    name = _git_config("user.name")
    email = _git_config("user.email")
    if name and len(name) <= 100 and not _UNSAFE_TEXT.search(name):
        derived["maintainer_name"] = name
    if email and _EMAIL.match(email):
        derived["maintainer_email"] = email
    return derived


def _git_config(key: str) -> str:
    try:
        out = subprocess.run(
            ["git", "config", "--get", key],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def unknown_keys(given: Iterable[str], known: Mapping[str, Any] | Iterable[str]) -> list[str]:
    """Supplied answer names that the template does not ask."""
    known_set = set(known)
    return sorted(k for k in given if k not in known_set)


def rejected_answer(copier_message: str, context: str = "") -> AnswerError | None:
    """The answer error inside one of copier's ValueError messages, if it is one."""
    text = " ".join(copier_message.split())
    match = _VALIDATION.search(text)
    if match:
        return AnswerError(f"invalid answer for {match['name']}: {match['msg']}")
    if _ANSWER_PROBLEM.search(text):
        return AnswerError(f"{context}{text}")
    return None
