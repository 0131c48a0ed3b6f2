"""`--fail-on`, one grammar for every command: a comma-separated list of names, or none.

Each command names its own conditions (`status`: behind, drift, dirty; `check`: the
severities); `none` (or `never`) fails on nothing of them. Whatever cannot be checked at
all fails regardless, which is each command's own rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from imgscaffold.errors import UsageError

#: The words that name no condition at all.
NOTHING = ("none", "never")


def parse(text: str, choices: Sequence[str], option: str = "--fail-on") -> frozenset[str]:
    """The conditions TEXT names, each one of CHOICES; empty for `none`.

    Names are case-insensitive; `none` beside conditions adds nothing to them. An empty
    list or an unknown name is a UsageError that names the option and what it takes.
    """
    names = {name.strip().lower() for name in text.split(",") if name.strip()}
    unknown = names - {*choices, *NOTHING}
    if unknown or not names:
        raise UsageError(
            f"{option} takes a comma-separated list of {', '.join(choices)} or none, got {text!r}"
        )
    return frozenset(names - set(NOTHING))
