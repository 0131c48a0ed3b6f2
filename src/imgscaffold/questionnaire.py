"""The questions of `imgscaffold new`, asked in the terminal.

Help and error texts are printed by rich, which wraps them at word boundaries to the
terminal's width; the prompt itself stays one short line. A wrong answer is explained
in full and asked again with what was typed, so nothing is ever cut off at the edge.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import partial
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from imgscaffold.answers import check_answer
from imgscaffold.errors import Aborted, AnswerError
from imgscaffold.template import Expressions, Question


def ask(
    asked: list[Question],
    expressions: Expressions,
    *,
    fixed: Mapping[str, Any],
    offered: Mapping[str, Any],
    console: Console | None = None,
) -> dict[str, Any]:
    """Ask every question that FIXED does not answer; return all answers, FIXED included.

    OFFERED values replace the template's defaults as the answer offered.
    """
    console = console or Console(stderr=True, highlight=False)
    answers: dict[str, Any] = {}
    for question in asked:
        if not expressions.asked(question, answers):
            continue
        if question.name in fixed:
            answers[question.name] = fixed[question.name]
            continue
        default = offered.get(question.name, expressions.default(question, answers))
        answers[question.name] = _ask_one(question, default, expressions, answers, console)
    return answers


def _ask_one(
    question: Question,
    default: Any,
    expressions: Expressions,
    answers: dict[str, Any],
    console: Console,
) -> Any:
    console.print()
    console.print(escape(question.help), style="bold")
    if question.choices:
        _print_choices(question.choices, console)
    typed = "" if default is None else str(default)
    while True:
        typed = _prompt(question, typed)
        try:
            value = check_answer(question.name, expressions.cast(question, typed.strip()))
            problem = expressions.problem(question, value, answers)
        except ValueError:
            problem = f"must be {'a whole number' if question.type == 'int' else 'a number'}"
        except AnswerError as error:
            problem = str(error).removeprefix(f"invalid answer for {question.name}: ")
        if not problem:
            return value
        shown = Padding(f"✗ {escape(question.name)} {escape(problem)}", (0, 0, 0, 2))
        console.print(shown, style="red")


def _print_choices(choices: dict[str, Any], console: Console) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    for title, value in choices.items():
        table.add_row(escape(str(value)), escape(str(title)))
    console.print(Padding(table, (0, 0, 0, 2)))


def _prompt(question: Question, default: str) -> str:
    # prompt_toolkit is slow to import; only a run that asks needs it.
    import questionary

    try:
        if question.choices:
            values = [str(v) for v in question.choices.values()]
            answer = questionary.select(
                question.name,
                choices=values,
                default=default if default in values else values[0],
                qmark="?",
            ).unsafe_ask()
        else:
            answer = questionary.text(question.name, default=default, qmark="?").unsafe_ask()
    except (KeyboardInterrupt, EOFError):
        raise Aborted("interrupted; nothing was written") from None
    return str(answer)


def stop_asking() -> bool:
    """End a running prompt as Ctrl-C would; False when no prompt is running.

    For SIGTERM: raising KeyboardInterrupt from a signal handler inside prompt_toolkit's
    event loop would leave it half-way through a task; asking the loop to end the
    prompt lets it clean up and raise KeyboardInterrupt where the prompt was called.
    """
    if "prompt_toolkit" not in sys.modules:
        return False
    from prompt_toolkit.application import get_app_or_none

    app = get_app_or_none()
    loop = getattr(app, "loop", None)
    if app is None or not app.is_running or loop is None:
        return False
    loop.call_soon_threadsafe(partial(app.exit, exception=KeyboardInterrupt))
    return True
