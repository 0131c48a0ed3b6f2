"""Answers to the template's questions: where they come from and how the layers combine.

Layers, weakest first: the template's own defaults < values derived from the machine
(git identity) < the organisation preset < the data file < `--data KEY=VALUE`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from imgscaffold import git
from imgscaffold.errors import AnswerError, InputFileError
from imgscaffold.template import Question

PRESET_ENV = "IMGSCAFFOLD_PRESET"

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*:")
# C0 and C1 control characters and the Unicode line and paragraph separators: no answer
# may hold one, whatever file it lands in (the template's validators refuse them too).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_NAMES = {
    "\n": "a line break (\\n)",
    "\r": "a carriage return (\\r)",
    "\t": "a tab (\\t)",
    "\x00": "a NUL character",
}
_VALIDATION = re.compile(r"Validation error for question '(?P<name>[^']+)': (?P<msg>.*)")
_ANSWER_PROBLEM = re.compile(r"^(Invalid choice for|Question .* is required)")
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$"
)


class AnswerFile(dict[str, Any]):
    """The answers of a data or preset file, with where each one was written."""

    def __init__(self, values: Mapping[str, Any], origins: Mapping[str, str]) -> None:
        super().__init__(values)
        self.origins = dict(origins)


@dataclass(frozen=True)
class AnswerLayers:
    """Answers from every source, kept apart until copier needs them."""

    derived: dict[str, Any] = field(default_factory=dict)
    preset: dict[str, Any] = field(default_factory=dict)
    data_file: dict[str, Any] = field(default_factory=dict)
    cli: dict[str, Any] = field(default_factory=dict)
    asked: dict[str, Any] = field(default_factory=dict)
    """Answers typed in the questionnaire, to the questions the other layers left open."""

    def defaults(self) -> dict[str, Any]:
        """Values offered as defaults in an interactive run (still asked)."""
        return {**self.derived, **self.preset}

    def fixed(self) -> dict[str, Any]:
        """Values that answer their question outright (not asked)."""
        return {**self.data_file, **self.cli, **self.asked}

    def merged(self) -> dict[str, Any]:
        """Every layer, strongest last, for a non-interactive run."""
        return {**self.defaults(), **self.fixed()}

    def given_keys(self) -> set[str]:
        """Keys the user supplied (not derived), to check against the template's questions."""
        return set(self.preset) | set(self.data_file) | set(self.cli)

    def origin(self, key: str) -> str:
        """Where the answer that wins for KEY was given, for error messages."""
        if key in self.asked:
            return "your answer"
        if key in self.cli:
            return "--data"
        for layer in (self.data_file, self.preset):
            if key in layer:
                return str(getattr(layer, "origins", {}).get(key, ""))
        return "your git identity" if key in self.derived else ""

    def checked(self) -> AnswerLayers:
        """The layers with every answer checked and normalised (see `check_answer`)."""

        def check(layer: dict[str, Any]) -> dict[str, Any]:
            values = {k: check_answer(k, v, self.origin(k)) for k, v in layer.items()}
            return AnswerFile(values, getattr(layer, "origins", {}))

        return AnswerLayers(
            derived=self.derived,
            preset=check(self.preset),
            data_file=check(self.data_file),
            cli=check(self.cli),
            asked=check(self.asked),
        )


_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "str": ((str,), "text"),
    "int": ((int, str), "a whole number"),
    "float": ((int, float, str), "a number"),
}


def check_kinds(layers: AnswerLayers, asked: list[Question]) -> None:
    """Refuse answers of the wrong kind before copier does, naming the question and file.

    A data file's `null`, `true` or `1.10` is not the text a text question needs (YAML
    read it as another type); whole numbers must be whole numbers.
    """
    answers = layers.merged()
    for question in asked:
        if question.name not in answers or question.type not in _KINDS:
            continue
        value = answers[question.name]
        kinds, what = _KINDS[question.type]
        origin = layers.origin(question.name)
        where = f" ({origin})" if origin else ""
        readable = not isinstance(value, bool) and isinstance(value, kinds)
        if readable and question.type == "int" and isinstance(value, str):
            readable = value.strip().lstrip("+-").isdigit()
        if readable:
            continue
        hint = ""
        if value is None:
            hint = "; leave the key out to take the default"
        elif question.type == "str" and not isinstance(value, list | dict):
            hint = "; put it in quotes to give it as text"
        raise AnswerError(
            f"invalid answer for {question.name}{where}: must be {what}, "
            f"got {_yaml_kind(value)}{hint}"
        )


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "null (no value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


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


def control_character(value: str) -> str | None:
    """A description of the first control character in VALUE, or None if it has none."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    char = found.group()
    name = _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
    where = "at the end" if found.end() == len(value) else f"at position {found.start() + 1}"
    return f"{name} {where}"


def check_answer(key: str, value: Any, origin: str = "") -> Any:
    """VALUE as the template should receive it, or an AnswerError saying what is wrong.

    Every text answer is refused if it holds a control character; the licence is checked
    against the SPDX licence list and written in its canonical case.
    """
    if not isinstance(value, str):
        return value
    where = f" ({origin})" if origin else ""
    control = control_character(value)
    if control:
        raise AnswerError(
            f"invalid answer for {key}{where}: must not contain control characters; found {control}"
        )
    if key == "license":
        return canonical_license(value, where)
    return value


def canonical_license(expression: str, where: str = "") -> str:
    """EXPRESSION with each SPDX id and operator in its canonical case."""
    try:
        return str(canonicalize_license_expression(expression))
    except InvalidLicenseExpression as error:
        raise AnswerError(
            f"invalid answer for license{where}: must be an SPDX licence expression such as "
            "MIT OR Apache-2.0, with ids from https://spdx.org/licenses/, or "
            f"LicenseRef-<name> for a proprietary licence ({error})"
        ) from None


def load_answers_file(path: Path, what: str) -> AnswerFile:
    """Read a YAML (or JSON) mapping of question names to answers."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise InputFileError(f"{what} {path} is a directory, not a file") from None
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"cannot read {what} {path}: not UTF-8 text ({error.reason})"
        ) from None
    except OSError as error:
        raise InputFileError(f"cannot read {what} {path}: {error.strerror or error}") from None
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as error:
        raise InputFileError(
            f"{what} {path} is not valid YAML{_yaml_problem(error, text)}"
        ) from None
    if data is None:
        return AnswerFile({}, {})
    if not isinstance(data, dict):
        raise InputFileError(f"{what} {path} must be a mapping of question names to answers")
    bad = [str(k) for k in data if not isinstance(k, str) or not _KEY.match(k)]
    if bad:
        raise InputFileError(
            f"{what} {path} has keys that are not question names: {', '.join(bad)}"
        )
    lines = getattr(data, "lc", None)
    origins = {
        key: f"{what} {path}, line {lines.key(key)[0] + 1}" if lines else f"{what} {path}"
        for key in data
    }
    return AnswerFile({k: _plain(v) for k, v in data.items()}, origins)


def _plain(value: Any) -> Any:
    """A round-trip YAML value as plain Python data (copier and JSON take nothing else)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _yaml_problem(error: YAMLError, text: str) -> str:
    """Where a YAML error is and what it is, with the answer it sits in."""
    if not isinstance(error, MarkedYAMLError) or error.problem_mark is None:
        first = str(error).strip().splitlines()
        return f": {first[0]}" if first else ""
    mark = error.problem_mark
    problem = error.problem or error.context or "invalid YAML"
    # The construct that went wrong starts at the context mark (an unclosed '[' on the
    # line of its key), the problem is where the parser noticed.
    started = error.context_mark or mark
    key = None
    for line in text.splitlines()[: started.line + 1]:
        found = _TOP_LEVEL_KEY.match(line)
        if found:
            key = found.group(1)
    in_key = f" (in the answer for {key})" if key else ""
    return f" at line {mark.line + 1}, column {mark.column + 1}{in_key}: {problem}"


def derive_from_machine() -> dict[str, Any]:
    """Defaults the template cannot know: the maintainer from the git identity."""
    derived: dict[str, Any] = {}
    name = git.config("user.name")
    email = git.config("user.email")
    if name and len(name) <= 100 and not _CONTROL.search(name):
        derived["maintainer_name"] = name
    if email and _EMAIL.match(email):
        derived["maintainer_email"] = email
    return derived


def unknown_keys(given: Iterable[str], known: Mapping[str, Any] | Iterable[str]) -> list[str]:
    """Supplied answer names that the template does not ask."""
    known_set = set(known)
    return sorted(k for k in given if k not in known_set)


def rejected_answer(
    copier_message: str, context: str = "", origin: Mapping[str, str] | None = None
) -> AnswerError | None:
    """The answer error inside one of copier's ValueError messages, if it is one."""
    text = " ".join(copier_message.split())
    match = _VALIDATION.search(text)
    if match:
        where = (origin or {}).get(match["name"], "")
        shown = f" ({where})" if where else ""
        return AnswerError(f"invalid answer for {match['name']}{shown}: {match['msg']}")
    if _ANSWER_PROBLEM.search(text):
        return AnswerError(f"{context}{text}")
    return None
