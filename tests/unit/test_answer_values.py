"""What answers may hold: control characters never, real-world text always, intact.

The template's validators (copier.yml) are what plain `copier` and Renovate's copier
manager apply; imgscaffold checks the same answers again before copier sees them.
Both are fed every hostile character on every question here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import copier
import pytest
from packaging.licenses._spdx import EXCEPTIONS, LICENSES
from ruamel.yaml import YAML

from imgscaffold.answers import AnswerLayers, check_answer
from imgscaffold.create import _plain_copy, create_repository
from imgscaffold.errors import AnswerError
from imgscaffold.template import Expressions, Question, embedded_template, questions

QUESTIONS = questions()
BY_NAME = {q.name: q for q in QUESTIONS}
CONTROL = {"trailing newline": "\n", "carriage return": "\r", "tab": "\t", "NUL": "\x00"}


@pytest.fixture(scope="module")
def expressions() -> Expressions:
    return Expressions(embedded_template(), "orders")


@pytest.fixture(scope="module")
def defaults(expressions: Expressions) -> dict[str, Any]:
    """Every answer as --defaults gives it, for a repository folder named orders."""
    answers: dict[str, Any] = {}
    for question in QUESTIONS:
        answers[question.name] = expressions.default(question, answers)
    return answers


@pytest.fixture(scope="module")
def plain_template() -> Iterator[Path]:
    """The embedded template as plain files, which copier renders as they are."""
    with tempfile.TemporaryDirectory() as tmp:
        yield _plain_copy(embedded_template(), Path(tmp) / "template")


def _with_control(value: Any, char: str) -> str:
    """A valid answer with CHAR inside (or at the end, where `$` in a regex still matches)."""
    text = str(value)
    return text + char if char == "\n" else text[:1] + char + text[1:]


@pytest.mark.parametrize("char", CONTROL.values(), ids=CONTROL.keys())
@pytest.mark.parametrize("question", QUESTIONS, ids=[q.name for q in QUESTIONS])
def test_every_question_refuses_control_characters(
    question: Question, char: str, expressions: Expressions, defaults: dict[str, Any]
) -> None:
    value = _with_control(defaults[question.name], char)
    with pytest.raises(AnswerError, match=f"invalid answer for {question.name}"):
        check_answer(question.name, value)
    # copier's own validators (and the choice lists) refuse them as well.
    if question.type == "str":
        assert expressions.problem(question, value, defaults), value


STR_QUESTIONS = [q for q in QUESTIONS if q.type == "str"]


@pytest.mark.parametrize("question", STR_QUESTIONS, ids=[q.name for q in STR_QUESTIONS])
def test_plain_copier_refuses_a_trailing_newline(question: Question, plain_template: Path) -> None:
    """What Renovate's copier manager runs: copier alone, with the template's validators."""
    data = {"stack": "artifact"} if question.when else {}
    good = Expressions(plain_template, "orders")
    answers: dict[str, Any] = {**data}
    for q in QUESTIONS:
        if q.name == question.name:
            break
        answers.setdefault(q.name, good.default(q, answers))
    value = str(good.default(question, answers)) + "\n"
    with tempfile.TemporaryDirectory() as out, pytest.raises(ValueError, match=question.name):
        copier.run_copy(
            str(plain_template),
            out,
            data={**data, question.name: value},
            defaults=True,
            pretend=True,
            quiet=True,
        )


# Answers a real organisation gives, which every file must carry intact.
REAL_WORLD = {
    "description": ["Bob's service", "Serves €-prices; fast", 'Says "hi" & $HOME \\o/ `x`'],
    "organisation": ["O'Reilly Media", "AT&T", "Müller & Söhne GmbH"],
    "maintainer_name": ["Zoë O'Brien", "Ops <ops> | team #1"],
    "maintainer_email": ["zoe.o'brien@example.com", "ops+images@example.co.uk"],
    "license": ["MIT OR Apache-2.0", "Apache-2.0 WITH LLVM-exception", "LicenseRef-Proprietary"],
    "repository_url": [
        "https://github.com/platform/orders/",
        "git@github.com:platform/orders.git",
        "ssh://git@git.example.com:2222/platform/orders.git",
    ],
    "registry": ["[::1]:5000", "[2001:db8::1]", "registry.example.com:443"],
    "health_path": ["/healthz?full=1", "/health/ready?probe=docker&verbose", "/status;v=1"],
    "data_dir": ["/srv/my data", "/var/lib/orders data/store"],
}


@pytest.mark.parametrize(
    ("name", "value"), [(n, v) for n, values in REAL_WORLD.items() for v in values]
)
def test_real_world_answers_are_accepted(
    name: str, value: str, expressions: Expressions, defaults: dict[str, Any]
) -> None:
    assert check_answer(name, value) == value
    assert expressions.problem(BY_NAME[name], value, defaults) == ""


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("mit", "MIT"),
        ("apache-2.0 with llvm-exception", "Apache-2.0 WITH LLVM-exception"),
        ("mit or APACHE-2.0", "MIT OR Apache-2.0"),
        ("(MIT OR Apache-2.0) and bsd-3-clause", "(MIT OR Apache-2.0) AND BSD-3-Clause"),
    ],
)
def test_licences_are_written_in_their_canonical_case(given: str, canonical: str) -> None:
    assert check_answer("license", given) == canonical


def test_every_spdx_licence_and_exception_is_accepted(
    expressions: Expressions, defaults: dict[str, Any]
) -> None:
    question = BY_NAME["license"]
    ids = [entry["id"] for entry in LICENSES.values()]
    assert len(ids) > 600, "the SPDX list shipped with packaging looks incomplete"
    for spdx_id in ids:
        assert check_answer("license", spdx_id.lower()) == spdx_id
        assert expressions.problem(question, spdx_id, defaults) == "", spdx_id
    for exception in (entry["id"] for entry in EXCEPTIONS.values()):
        expression = f"Apache-2.0 WITH {exception}"
        assert check_answer("license", expression) == expression
        assert expressions.problem(question, expression, defaults) == "", expression


@pytest.mark.parametrize(
    "data",
    [
        {"service_name": "orders\n"},
        {"description": "x\ty"},
        {"health_path": "/healthz?full=1"},
        {"data_dir": "/srv/my data"},
        {"registry": "[::1]:5000"},
        {"repository_url": "git@github.com:platform/orders.git"},
        {"maintainer_email": "zoe.o'brien@example.com"},
        {"license": "MIT OR Apache-2.0"},
        {"license": "GPL"},
    ],
    ids=lambda data: repr(data)[:40],
)
def test_the_questionnaire_judges_answers_as_copier_does(
    data: dict[str, str], plain_template: Path, expressions: Expressions, defaults: dict[str, Any]
) -> None:
    ((name, value),) = data.items()
    ours = expressions.problem(BY_NAME[name], value, defaults)
    with tempfile.TemporaryDirectory() as out:
        try:
            copier.run_copy(
                str(plain_template), out, data=data, defaults=True, pretend=True, quiet=True
            )
            copiers = ""
        except ValueError as error:
            copiers = str(error).split(": ", 1)[-1]
    assert ours == copiers


# ---- values that YAML would read as another type stay strings everywhere ----

LOOKALIKES = ["null", "true", "no", "1e3", "0x1f"]
YAML_FILES = ("*.yaml", "*.yml", ".*.yml", ".*.yaml", ".github/workflows/*.yml")


def _skeleton(value: Any) -> Any:
    """The shape of parsed YAML with the type of every key and scalar, not the values."""
    if isinstance(value, dict):
        return [(type(k).__name__, _skeleton(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_skeleton(v) for v in value]
    return type(value).__name__


def _yaml_files(repo: Path) -> dict[str, Any]:
    found = {p for pattern in YAML_FILES for p in repo.glob(pattern) if p.is_file()}
    yaml = YAML(typ="safe")
    return {str(p.relative_to(repo)): _skeleton(yaml.load(p.read_text())) for p in sorted(found)}


@pytest.mark.parametrize("provider", ["github", "gitlab", "jenkins"])
def test_answers_that_look_like_other_yaml_types_stay_strings(
    provider: str, tmp_path: Path
) -> None:
    baseline = create_repository(
        tmp_path / "baseline", layers=AnswerLayers(cli={"ci_provider": provider})
    )
    expected = _yaml_files(baseline.path)
    assert "compose.yaml" in expected and ".copier-answers.yml" in expected
    for index, lookalike in enumerate(LOOKALIKES):
        other = LOOKALIKES[(index + 1) % len(LOOKALIKES)]
        answers = {
            "ci_provider": provider,
            "service_name": lookalike,
            "description": other,
            "organisation": "~",
            "maintainer_name": lookalike.upper(),
        }
        repo = create_repository(tmp_path / f"r{index}", layers=AnswerLayers(cli=answers)).path
        assert _yaml_files(repo) == expected, answers
