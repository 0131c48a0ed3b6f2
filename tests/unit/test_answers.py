from __future__ import annotations

from pathlib import Path

import pytest

from imgscaffold.answers import AnswerLayers, load_answers_file, parse_assignments, unknown_keys
from imgscaffold.create import create_repository
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


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "service_name: orders\ndescription: null\n",
            "invalid answer for description (data file {path}, line 2): must be text, "
            "got null (no value); leave the key out to take the default",
        ),
        (
            "service_name: true\n",
            "invalid answer for service_name (data file {path}, line 1): must be text, "
            "got the boolean true; put it in quotes to give it as text",
        ),
        (
            "artifact_version: 1.10\nstack: artifact\n",
            "invalid answer for artifact_version (data file {path}, line 1): must be text, "
            "got the number 1.1",
        ),
        (
            "service_port: eighty\n",
            "invalid answer for service_port (data file {path}, line 1): must be a whole number",
        ),
    ],
)
def test_a_wrong_kind_of_answer_names_the_question_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "answers.yml"
    path.write_text(content)
    layers = AnswerLayers(data_file=load_answers_file(path, "data file"))
    with pytest.raises(AnswerError) as raised:
        create_repository(tmp_path / "out", layers=layers)
    assert message.format(path=path) in str(raised.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "service_name: orders\ndescription: [unclosed\nlicense: MIT\n",
            "line 3, column 8 (in the answer for description)",
        ),
        (
            "service_name: orders\ndescription: a: b\n",
            "line 2, column 15 (in the answer for description): mapping values are not allowed",
        ),
    ],
)
def test_invalid_yaml_names_the_line_and_the_answer(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "answers.yml"
    path.write_text(content)
    with pytest.raises(InputFileError) as raised:
        load_answers_file(path, "data file")
    assert message in str(raised.value)


def test_a_template_validation_error_names_where_the_answer_came_from(tmp_path: Path) -> None:
    path = tmp_path / "preset.yml"
    path.write_text("organisation: Example\nservice_port: 80\n")
    layers = AnswerLayers(preset=load_answers_file(path, "preset file"))
    with pytest.raises(AnswerError, match=rf"service_port \(preset file {path}, line 2\): must be"):
        create_repository(tmp_path / "out", layers=layers)
