"""`--fail-on` has one grammar: a comma-separated list of a command's conditions, or none."""

from __future__ import annotations

import pytest

from imgscaffold.check.rule import Severity
from imgscaffold.errors import UsageError
from imgscaffold.fleet.status import parse_gates
from imgscaffold.gates import parse

CHOICES = ("behind", "drift", "dirty")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("behind", {"behind"}),
        ("behind,drift", {"behind", "drift"}),
        (" Drift , dirty ,", {"drift", "dirty"}),
        ("none", set()),
        ("never", set()),
        ("NONE", set()),
        ("none,drift", {"drift"}),
    ],
)
def test_a_list_names_its_conditions(text: str, named: set[str]) -> None:
    assert parse(text, CHOICES) == named


@pytest.mark.parametrize("text", ["", " , ", "late", "behind,late"])
def test_anything_else_is_a_usage_error_that_says_what_is_taken(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse(text, CHOICES)
    assert str(raised.value) == (
        f"--fail-on takes a comma-separated list of behind, drift, dirty or none, got {text!r}"
    )


@pytest.mark.parametrize(
    ("text", "threshold"),
    [
        ("error", Severity.ERROR),
        ("warning", Severity.WARNING),
        ("info", Severity.INFO),
        ("error,warning", Severity.WARNING),
        ("never", None),
        ("none", None),
    ],
)
def test_check_fails_from_the_lowest_severity_named(text: str, threshold: Severity | None) -> None:
    assert Severity.threshold(text) == threshold


def test_check_names_its_severities_in_the_same_words() -> None:
    with pytest.raises(UsageError, match="list of error, warning, info or none, got 'sometimes'"):
        Severity.threshold("sometimes")


def test_drift_is_no_gate_when_drift_is_not_checked() -> None:
    assert parse_gates("behind,drift", drift=False) == {"behind"}
    assert parse_gates("behind,drift") == {"behind", "drift"}
