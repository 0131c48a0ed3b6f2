"""The Dockerfile parser behind `imgscaffold check`: the shapes BuildKit accepts."""

from __future__ import annotations

from imgscaffold.check.syntax import parse, substitute


def test_directives_are_read_only_at_the_top() -> None:
    parsed = parse("# syntax=docker/dockerfile:1.12.0\n# escape=\\\nFROM a:1\n# check=skip=all\n")
    assert parsed.directives == {"syntax": "docker/dockerfile:1.12.0", "escape": "\\"}
    assert parsed.directive_lines["syntax"] == 1


def test_a_comment_ends_the_directives() -> None:
    parsed = parse("# a comment\n# syntax=docker/dockerfile:1\nFROM a:1\n")
    assert parsed.directives == {}


def test_backtick_escape_joins_lines() -> None:
    parsed = parse('# escape=`\nFROM a:1\nRUN echo one `\n    two\nCMD ["C:\\\\app.exe"]\n')
    run = parsed.stages[0].find("RUN")[0]
    assert run.value == "echo one two"
    assert (run.line, run.end_line) == (3, 4)
    assert parsed.stages[0].find("CMD")[0].exec_form == ["C:\\app.exe"]


def test_continuations_skip_comments_and_blank_lines() -> None:
    text = "FROM a:1\nRUN set -eux; \\\n    # a comment\n\n    apt-get update\nUSER 1\n"
    parsed = parse(text)
    run = parsed.stages[0].find("RUN")[0]
    assert run.value == "set -eux; apt-get update"
    assert parsed.stages[0].find("USER")[0].line == 6


def test_heredoc_bodies_are_not_instructions() -> None:
    text = (
        "FROM a:1\nRUN <<EOF\necho FROM scratch\nUSER root\nEOF\n"
        "COPY <<-'CONF' /etc/x\n\tUSER 0\n\tCONF\nUSER 10001\n"
    )
    parsed = parse(text)
    assert len(parsed.stages) == 1
    assert [i.keyword for i in parsed.instructions] == ["FROM", "RUN", "COPY", "USER"]
    run, copy = parsed.stages[0].find("RUN", "COPY")
    assert run.heredocs[0].body == "echo FROM scratch\nUSER root"
    assert copy.heredocs[0].delimiter == "CONF"
    assert copy.heredocs[0].body == "USER 0"
    assert parsed.stages[0].find("USER")[0].line == 9
    assert not parsed.problems


def test_two_heredocs_in_one_instruction() -> None:
    parsed = parse('FROM a:1\nRUN <<A bash && <<B sh\none\nA\ntwo\nB\nCMD ["x"]\n')
    run = parsed.stages[0].find("RUN")[0]
    assert [d.body for d in run.heredocs] == ["one", "two"]
    assert parsed.stages[0].find("CMD")[0].line == 7


def test_unclosed_heredoc_is_a_problem() -> None:
    parsed = parse("FROM a:1\nRUN <<EOF\necho\n")
    assert parsed.problems and "EOF" in parsed.problems[0][1]


def test_lower_case_instructions_and_stage_names() -> None:
    parsed = parse('from a:1 as Build\nrun make\nfrom build\ncmd ["x"]\n')
    assert [s.name for s in parsed.stages] == ["build", None]
    assert parsed.stages[1].parent == 0
    assert parsed.chain(parsed.stages[1])[0].index == 0


def test_exec_and_shell_forms() -> None:
    parsed = parse('FROM a:1\nENTRYPOINT ["/bin/app", "--flag"]\nCMD serve --port 80\n')
    entrypoint, cmd = parsed.stages[0].find("ENTRYPOINT", "CMD")
    assert entrypoint.exec_form == ["/bin/app", "--flag"]
    assert cmd.exec_form is None and cmd.command == "serve --port 80"


def test_healthcheck_flags_and_command() -> None:
    parsed = parse('FROM a:1\nHEALTHCHECK --interval=5s --retries=3 CMD ["/probe"]\n')
    health = parsed.stages[0].find("HEALTHCHECK")[0]
    assert health.flags == {"interval": "5s", "retries": "3"}
    assert health.exec_form == ["/probe"]


def test_arg_substitution_in_from() -> None:
    text = (
        "ARG REG=docker.io\nARG TAG=3.20.3\nARG EMPTY\nFROM ${REG}/alpine:${TAG}\nFROM "
        "${EMPTY:-busybox:1.37}\n"
    )
    parsed = parse(text)
    assert [s.resolved_base for s in parsed.stages] == ["docker.io/alpine:3.20.3", "busybox:1.37"]
    assert parsed.global_args == {"REG": "docker.io", "TAG": "3.20.3", "EMPTY": None}


def test_substitute_operators() -> None:
    values = {"SET": "x", "BLANK": ""}
    assert substitute("${SET:+yes}${BLANK:+no}${NONE+no}", values) == "yes"
    assert substitute("${BLANK:-d}${BLANK-e}$SET", values) == "dx"


def test_copy_flags() -> None:
    parsed = parse("FROM a:1 AS b\nFROM b\nCOPY --from=b --chown=1:1 /x /y\n")
    assert parsed.stages[1].find("COPY")[0].flags == {"from": "b", "chown": "1:1"}


def test_binary_empty_and_garbage_never_raise() -> None:
    assert parse(bytes(range(256)).decode("latin-1")).problems
    assert parse("").problems == [(1, "no FROM instruction: this is not a Dockerfile")]
    assert parse("\\\n\\\n").problems
    assert parse("FROM\n").problems
    assert parse("RUN x\nFROM a:1\n").problems[0][0] == 1
