"""A Dockerfile parser that knows what the checks need and BuildKit accepts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# dockerfile-parse (the usual Python choice) reads heredoc bodies as instructions and
# keeps parser directives as plain comments, and neither honours a `# escape=` directive.
# This module follows BuildKit's frontend instead: parser directives at the top, the
# escape character they select, line continuations with comments and blank lines inside,
# heredocs (`<<EOF`, `<<-EOF`, quoted delimiters, several per instruction), JSON and shell
# forms, lower-case keywords, stages with their names, and ARG substitution in FROM.

__all__ = [
    "Dockerfile",
    "Heredoc",
    "Instruction",
    "Stage",
    "parse",
    "substitute",
]

_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_KNOWN_DIRECTIVES = {"syntax", "escape", "check"}
_HEREDOC = re.compile(r"<<(-?)(?:\"([^\"\s]+)\"|'([^'\s]+)'|([A-Za-z_][A-Za-z0-9_]*))")
_HEREDOC_KEYWORDS = {"RUN", "COPY", "ADD"}
_FLAG = re.compile(r"--([a-z][a-z0-9-]*)(?:=(\"[^\"]*\"|\S*))?")
_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class Heredoc:
    """The here-document of a RUN, COPY or ADD: its delimiter and body."""

    delimiter: str
    body: str
    line: int


@dataclass
class Instruction:
    """One instruction, continuation lines joined; `line` is 1-based."""

    keyword: str
    value: str
    line: int
    end_line: int
    stage: int
    flags: dict[str, str] = field(default_factory=dict)
    exec_form: list[str] | None = None
    heredocs: list[Heredoc] = field(default_factory=list)

    @property
    def command(self) -> str:
        """The instruction's arguments without its `--flags`, heredoc bodies appended."""
        text = " ".join(self.exec_form) if self.exec_form is not None else self._shell_text()
        return "\n".join([text, *(doc.body for doc in self.heredocs)])

    def _shell_text(self) -> str:
        rest = self.value
        if self.keyword in {"FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"}:
            rest = _strip_flags(rest)
        return rest


@dataclass
class Stage:
    """A build stage: its FROM line, name and instructions."""

    index: int
    base: str
    resolved_base: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)
    #: The index of the earlier stage this one builds on, if any.
    parent: int | None = None
    platform: str | None = None

    def find(self, *keywords: str) -> list[Instruction]:
        """The instructions of this stage with one of the given keywords."""
        return [i for i in self.instructions if i.keyword in keywords]


@dataclass
class Dockerfile:
    """A parsed Dockerfile."""

    path: str
    directives: dict[str, str]
    directive_lines: dict[str, int]
    global_args: dict[str, str | None]
    instructions: list[Instruction]
    stages: list[Stage]
    #: Why the text could not be read as a Dockerfile, with the line; empty when it could.
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def final(self) -> Stage | None:
        """The last stage: what a plain `docker build` produces."""
        return self.stages[-1] if self.stages else None

    def chain(self, stage: Stage) -> list[Stage]:
        """The stage and the earlier stages it builds on, the oldest first."""
        chain = [stage]
        seen = {stage.index}
        while chain[0].parent is not None and chain[0].parent not in seen:
            seen.add(chain[0].parent)
            chain.insert(0, self.stages[chain[0].parent])
        return chain

    def stage_named(self, name: str) -> Stage | None:
        """The stage a `--from=` or FROM refers to, by name or index."""
        for stage in self.stages:
            if stage.name is not None and stage.name == name.lower():
                return stage
        if name.isdigit() and int(name) < len(self.stages):
            return self.stages[int(name)]
        return None


def substitute(text: str, values: Mapping[str, str | None]) -> str:
    """Expand `$VAR`, `${VAR}`, `${VAR:-word}` and `${VAR:+word}` as BuildKit does."""

    def expand(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        value = values.get(name)
        operator, word = match.group(2), match.group(3)
        if operator in {"-", ":-"}:
            if value is None or (operator == ":-" and value == ""):
                return substitute(word or "", values)
            return value
        if operator in {"+", ":+"}:
            if value is None or (operator == ":+" and value == ""):
                return ""
            return substitute(word or "", values)
        return value or ""

    return _VARIABLE.sub(expand, text)


def _strip_flags(rest: str) -> str:
    rest = rest.lstrip()
    while rest.startswith("--"):
        match = _FLAG.match(rest)
        if match is None:
            break
        rest = rest[match.end() :].lstrip()
    return rest


def _flags(rest: str) -> dict[str, str]:
    flags: dict[str, str] = {}
    rest = rest.lstrip()
    while rest.startswith("--"):
        match = _FLAG.match(rest)
        if match is None:
            break
        flags[match.group(1)] = (match.group(2) or "").strip('"')
        rest = rest[match.end() :].lstrip()
    return flags


def _exec_form(text: str) -> list[str] | None:
    text = text.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _arg_pairs(value: str) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for word in value.split():
        name, sep, default = word.partition("=")
        pairs.append((name, default.strip("\"'") if sep else None))
    return pairs


def parse(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Parse a Dockerfile's text; never raises on bad input, records problems instead."""
    dockerfile = Dockerfile(path, {}, {}, {}, [], [])
    if "\x00" in text:
        dockerfile.problems.append((1, "the file is binary, not a Dockerfile"))
        return dockerfile
    lines = text.splitlines()
    index = 0
    # Parser directives: only at the very top, before any comment, blank line or instruction.
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        if match is None or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        key = match.group(1).lower()
        if key in dockerfile.directives:
            break
        dockerfile.directives[key] = match.group(2)
        dockerfile.directive_lines[key] = index + 1
        index += 1
    escape = dockerfile.directives.get("escape", "\\")
    if escape not in {"\\", "`"}:
        dockerfile.problems.append(
            (dockerfile.directive_lines["escape"], f"invalid escape character {escape!r}")
        )
        escape = "\\"

    while index < len(lines):
        raw = lines[index]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start = index
        parts: list[str] = []
        current = raw
        while True:
            body = current.rstrip()
            if body.endswith(escape) and index + 1 < len(lines):
                parts.append(body[:-1])
                index += 1
                # Comment and blank lines inside a continuation are dropped.
                while index < len(lines) and (
                    not lines[index].strip() or lines[index].lstrip().startswith("#")
                ):
                    index += 1
                if index >= len(lines):
                    break
                current = lines[index]
                continue
            parts.append(body[:-1] if body.endswith(escape) else current)
            break
        joined = " ".join(part.strip() for part in parts)
        keyword, _, value = joined.partition(" ")
        keyword = keyword.upper()
        value = value.strip()
        end = index
        heredocs: list[Heredoc] = []
        if keyword in _HEREDOC_KEYWORDS and "<<" in value:
            for match in _HEREDOC.finditer(value):
                delimiter = match.group(2) or match.group(3) or match.group(4)
                strip_tabs = match.group(1) == "-"
                body_lines: list[str] = []
                index += 1
                while index < len(lines):
                    candidate = lines[index].lstrip("\t") if strip_tabs else lines[index]
                    if candidate.rstrip("\r") == delimiter:
                        break
                    body_lines.append(candidate)
                    index += 1
                else:
                    dockerfile.problems.append(
                        (start + 1, f"heredoc <<{delimiter} has no closing {delimiter} line")
                    )
                heredocs.append(Heredoc(delimiter, "\n".join(body_lines), start + 1))
            end = index
        index += 1
        if not re.fullmatch(r"[A-Z]+", keyword):
            dockerfile.problems.append((start + 1, f"unknown instruction {keyword!r}"))
            continue
        instruction = Instruction(
            keyword=keyword,
            value=value,
            line=start + 1,
            end_line=end + 1,
            stage=len(dockerfile.stages) - 1,
            flags=_flags(value) if keyword in {"FROM", "COPY", "ADD", "RUN"} else {},
            heredocs=heredocs,
        )
        if keyword in {"CMD", "ENTRYPOINT", "RUN", "SHELL", "HEALTHCHECK", "VOLUME", "COPY", "ADD"}:
            payload = _strip_flags(value)
            if keyword == "HEALTHCHECK":
                instruction.flags = _flags(value)
                head, _, rest = payload.partition(" ")
                payload = rest if head.upper() == "CMD" else ""
            instruction.exec_form = _exec_form(payload)
        dockerfile.instructions.append(instruction)
        if keyword == "FROM":
            _start_stage(dockerfile, instruction)
        elif keyword == "ARG" and not dockerfile.stages:
            for name, default in _arg_pairs(value):
                dockerfile.global_args[name] = default
        elif dockerfile.stages:
            dockerfile.stages[-1].instructions.append(instruction)
        else:
            dockerfile.problems.append(
                (instruction.line, f"{keyword} before the first FROM (only ARG may come first)")
            )
    if not dockerfile.stages and not dockerfile.problems:
        dockerfile.problems.append((1, "no FROM instruction: this is not a Dockerfile"))
    return dockerfile


def _start_stage(dockerfile: Dockerfile, instruction: Instruction) -> None:
    words = _strip_flags(instruction.value).split()
    base = words[0] if words else ""
    name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
    if not base:
        dockerfile.problems.append((instruction.line, "FROM without an image"))
    stage = Stage(
        index=len(dockerfile.stages),
        base=base,
        resolved_base=substitute(base, dockerfile.global_args),
        name=name,
        line=instruction.line,
        platform=instruction.flags.get("platform"),
    )
    stage.instructions.append(instruction)
    instruction.stage = stage.index
    parent = dockerfile.stage_named(stage.resolved_base)
    if parent is not None and not stage.resolved_base.isdigit():
        stage.parent = parent.index
    dockerfile.stages.append(stage)
