"""The questionnaire in a real pseudo-terminal, as a person would answer it."""

from __future__ import annotations

import io
import os
import shutil
import signal
import sys
from pathlib import Path

import jinja2
import pexpect
import pyte
import pytest
from ruamel.yaml import YAML

from imgscaffold.template import Question, questions

CTRL_U = "\x15"  # clears the pre-filled default in the prompt
CTRL_C = "\x03"


def _spawn(dest: Path, columns: int = 250, rows: int = 60) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "imgscaffold", "new", str(dest)],
        encoding="utf-8",
        timeout=30,
        dimensions=(rows, columns),
        # pexpect does not answer cursor-position requests; without this each prompt waits.
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"},
    )
    return child


def _expect_question(child: pexpect.spawn, name: str) -> None:
    """Wait for the question's help and then its prompt, which takes the keys typed."""
    help_text = next(q.help for q in questions() if q.name == name)
    child.expect_exact(help_text[:30])
    _expect_prompt(child, name)


def _expect_prompt(child: pexpect.spawn, name: str) -> None:
    # The prompt line is "? NAME DEFAULT"; the name comes right after a style sequence.
    child.expect(rf"\x1b\[[0-9;]*m {name} ")


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


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to commit the result")
def test_nothing_is_cut_at_80_columns(tmp_path: Path) -> None:
    """Every help text and error line is whole on an 80-column terminal, as a person sees it."""
    rows = 400
    screen = pyte.Screen(80, rows)
    stream = pyte.Stream(screen)
    child = _spawn(tmp_path / "orders", columns=80, rows=rows)
    child.logfile_read = io.StringIO()
    asked = asked_with_default_choices()
    error = ""
    for question in asked:
        _expect_question(child, question.name)
        if question.name == "service_name":
            # A wrong answer: the whole explanation must be readable too.
            child.send(CTRL_U + "Bad!\r")
            _expect_prompt(child, question.name)
            error = "must be lower-case letters and digits"
            child.send(CTRL_U + "orders\r")
        else:
            child.send("\r")
    child.expect(pexpect.EOF)
    stream.feed(child.logfile_read.getvalue())
    child.close()
    assert child.exitstatus == 0
    shown = _words("\n".join(screen.display))
    for question in asked:
        assert _words(question.help) in shown, f"{question.name}: help is cut"
    rules = "must be lower-case letters and digits, separated by single '.', '_' or '-'"
    assert error and f"service_name {rules} (a valid image repository path component)" in shown
    assert all(len(line.rstrip()) <= 80 for line in screen.display)


def test_sigterm_ends_the_questionnaire_like_ctrl_c(tmp_path: Path) -> None:
    dest = tmp_path / "orders"
    child = _spawn(dest)
    _expect_question(child, "service_name")
    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, child.before
    assert "Traceback" not in (child.before or "")
    assert "interrupted" in (child.before or "")
    assert not dest.exists()
