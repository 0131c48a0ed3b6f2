"""The questionnaire in a real pseudo-terminal, as a person would answer it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import jinja2
import pexpect
import pytest
from ruamel.yaml import YAML

from imgscaffold.template import Question, questions

CTRL_U = "\x15"  # clears the pre-filled default in the prompt
CTRL_C = "\x03"


def _spawn(dest: Path) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "imgscaffold", "new", str(dest)],
        encoding="utf-8",
        timeout=30,
        dimensions=(60, 250),
        # pexpect does not answer cursor-position requests; without this each prompt waits.
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"},
    )
    return child


def _expect_question(child: pexpect.spawn, name: str) -> None:
    help_text = next(q.help for q in questions() if q.name == name)
    child.expect_exact(help_text[:30])


def asked_with_default_choices() -> list[Question]:
    """The questions copier asks when every choice keeps its default (e.g. the python stack)."""
    chosen = {q.name: q.default for q in questions() if q.choices}
    return [
        q
        for q in questions()
        if q.when is None
        or jinja2.Template(str(q.when)).render(**chosen).strip().lower() not in ("false", "")
    ]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to commit the result")
def test_answering_the_questionnaire(tmp_path: Path) -> None:
    dest = tmp_path / "orders"
    child = _spawn(dest)
    typed = {"service_name": "orders-api", "service_port": "9090", "license": "MIT"}
    for question in asked_with_default_choices():
        _expect_question(child, question.name)
        if question.name == "service_port":
            # A wrong answer is explained and asked again.
            child.send(CTRL_U + "80\r")
            child.expect_exact("between 1024 and 65535")
        if question.name in typed:
            child.send(CTRL_U + typed[question.name] + "\r")
        else:
            child.send("\r")
    child.expect_exact("Next steps")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    answers = YAML(typ="safe").load((dest / ".copier-answers.yml").read_text())
    assert answers["service_name"] == "orders-api"
    assert answers["service_port"] == 9090
    assert answers["license"] == "MIT"
    # Defaults derived from earlier answers follow them.
    assert answers["image_repository"] == "example-corp/orders-api"


def test_interrupting_the_questionnaire_writes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "orders"
    child = _spawn(dest)
    _expect_question(child, "service_name")
    child.send("\r")
    _expect_question(child, "description")
    child.send(CTRL_C)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    assert not dest.exists()
