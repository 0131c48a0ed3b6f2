from __future__ import annotations

from pathlib import Path

import pytest

from imgscaffold.answers import AnswerLayers, load_answers_file, parse_assignments, unknown_keys
from imgscaffold.errors import AnswerError, InputFileError


def test_assignments_keep_equals_signs_in_values() -> None:
    assert parse_assignments(["description=a=b", "service_port=9090"]) == {
        "description": "a=b",
        "service_port": "9090",
    }


@pytest.mark.parametrize("item", ["novalue", "=x", "bad key=1", "-x=1", "_commit=1"])
def test_assignments_reject_what_is_not_key_value(item: str) -> None:
    with pytest.raises(AnswerError, match="KEY=VALUE"):
        parse_assignments([item])


def test_layers_go_from_weakest_to_strongest() -> None:
    layers = AnswerLayers(
        derived={"a": "derived", "b": "derived", "c": "derived", "d": "derived"},
        preset={"b": "preset", "c": "preset", "d": "preset"},
        data_file={"c": "file", "d": "file"},
        cli={"d": "cli"},
    )
    assert layers.merged() == {"a": "derived", "b": "preset", "c": "file", "d": "cli"}
    assert layers.defaults() == {"a": "derived", "b": "preset", "c": "preset", "d": "preset"}
    assert layers.fixed() == {"c": "file", "d": "cli"}
    assert layers.given_keys() == {"b", "c", "d"}


def test_answers_file_is_read_as_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "answers.yml"
    path.write_text("service_name: orders\nservice_port: 9090\n")
    assert load_answers_file(path, "data file") == {"service_name": "orders", "service_port": 9090}


def test_empty_answers_file_is_no_answers(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("")
    assert load_answers_file(path, "preset file") == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- a\n- b\n", "must be a mapping"),
        ("a: [\n", "not valid YAML"),
        ("1: x\n", "not question names"),
        (b"\xff\xfe\x00".decode("latin-1"), "cannot read|not valid YAML|must be a mapping"),
    ],
)
def test_bad_answers_files_are_reported(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(content, encoding="latin-1")
    with pytest.raises(InputFileError, match=message):
        load_answers_file(path, "data file")


def test_missing_and_folder_answers_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        load_answers_file(tmp_path / "nope.yml", "preset file")
    with pytest.raises(InputFileError, match="is a directory"):
        load_answers_file(tmp_path, "preset file")


def test_unknown_keys_lists_only_unknown() -> None:
    assert unknown_keys({"b", "a", "zz"}, {"a": 1, "b": 2}) == ["zz"]
