"""A small parser for the structure of a declarative Jenkins pipeline (a `Jenkinsfile`).

It understands the Groovy that declarative pipelines are written in as far as their
structure goes: comments, the string literals ('...', "...", '''...''', \"\"\"...\"\"\"),
parentheses and brackets, and `name args { block }` sections and steps. Each statement
becomes a `Node`: its name, the tokens of its arguments and, when it has one, the nodes
of its block. That is enough to check stages, `when` conditions, `environment` and the
steps that run, without a JVM. Anything it cannot read (an unterminated string or
comment, unbalanced brackets) is a `JenkinsfileError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<newline>\n)
  | (?P<space>[ \t\r\f]+|\\\n)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<string>'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<unterminated>/\*|['"])
  | (?P<word>[A-Za-z_$][A-Za-z0-9_$.]*|[0-9][0-9A-Za-z_.]*)
  | (?P<punct>[{}()\[\],:;=!<>&|+*/%?.-]+?)
    """,
    re.VERBOSE | re.DOTALL,
)


class JenkinsfileError(ValueError):
    """The text is not a declarative pipeline this parser can read."""


@dataclass(frozen=True)
class Token:
    kind: str
    """`word`, `string`, `punct` or `newline`."""
    text: str
    line: int

    @property
    def value(self) -> str:
        """A string literal's content (no interpolation), or the token's text."""
        if self.kind != "string":
            return self.text
        quote = 3 if self.text[:3] in ("'''", '"""') else 1
        body = self.text[quote:-quote]
        return re.sub(r"\\(.)", r"\1", body, flags=re.DOTALL)


@dataclass
class Node:
    """One statement: `name args...` with an optional `{ block }`."""

    name: str
    args: list[Token]
    body: list[Node] | None = None
    line: int = 0
    children: list[Node] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.children = self.body or []

    def strings(self) -> list[str]:
        """The values of the string literals among the arguments."""
        return [t.value for t in self.args if t.kind == "string"]

    def find(self, name: str) -> list[Node]:
        """The direct children named `name`."""
        return [c for c in self.children if c.name == name]

    def one(self, name: str) -> Node:
        found = self.find(name)
        if len(found) != 1:
            raise JenkinsfileError(
                f"line {self.line}: {self.name} has {len(found)} {name!r} blocks"
            )
        return found[0]

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    line, position = 1, 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup == "unterminated":
            snippet = text[position : position + 20]
            raise JenkinsfileError(
                f"line {line}: cannot read {snippet!r} (an unterminated string or comment?)"
            )
        kind = match.lastgroup or ""
        if kind in ("newline", "string", "word", "punct"):
            tokens.append(Token("newline" if kind == "newline" else kind, match.group(), line))
        line += match.group().count("\n")
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def block(self, closing: bool) -> list[Node]:
        """Statements up to the matching `}` (closing) or the end of the text."""
        nodes: list[Node] = []
        while True:
            token = self.peek()
            if token is None:
                if closing:
                    raise JenkinsfileError("unbalanced braces: a '{' is never closed")
                return nodes
            if token.kind == "newline" or token.text == ";":
                self.at += 1
                continue
            if token.text == "}":
                if not closing:
                    raise JenkinsfileError(
                        f"line {token.line}: unbalanced braces: '}}' without '{{'"
                    )
                self.at += 1
                return nodes
            nodes.append(self.statement())

    def statement(self) -> Node:
        first = self.tokens[self.at]
        if first.kind != "word":
            raise JenkinsfileError(f"line {first.line}: a statement starts with {first.text!r}")
        self.at += 1
        args: list[Token] = []
        depth: list[str] = []
        pairs = {"(": ")", "[": "]"}
        while (token := self.peek()) is not None:
            if not depth and (token.kind == "newline" or token.text in (";", "}")):
                # A newline inside an argument list or after a trailing comma continues it.
                if token.kind == "newline" and args and args[-1].text == ",":
                    self.at += 1
                    continue
                return Node(first.text, args, None, first.line)
            if token.text == "{":
                self.at += 1
                if depth:
                    raise JenkinsfileError(
                        f"line {token.line}: closures inside arguments are not supported"
                    )
                return Node(first.text, args, self.block(closing=True), first.line)
            self.at += 1
            if token.kind == "newline":
                continue
            if token.text in pairs:
                depth.append(pairs[token.text])
            elif token.text in (")", "]") and (not depth or depth.pop() != token.text):
                raise JenkinsfileError(f"line {token.line}: unbalanced {token.text!r}")
            args.append(token)
        if depth:
            raise JenkinsfileError(f"line {first.line}: unbalanced brackets in {first.text}")
        return Node(first.text, args, None, first.line)


def parse(text: str) -> list[Node]:
    """The top-level statements of a Jenkinsfile."""
    parser = _Parser(tokenize(text))
    return parser.block(closing=False)


def pipeline(text: str) -> Node:
    """The one `pipeline { ... }` block of a declarative Jenkinsfile."""
    nodes = parse(text)
    found = [n for n in nodes if n.name == "pipeline" and n.body is not None]
    if len(nodes) != 1 or len(found) != 1:
        raise JenkinsfileError(
            f"expected exactly one top-level `pipeline {{ ... }}`, found {[n.name for n in nodes]}"
        )
    return found[0]


def stages(root: Node) -> list[tuple[str, Node]]:
    """The top-level stages in order: (name, stage node)."""
    result = []
    for stage in root.one("stages").children:
        if stage.name != "stage" or stage.body is None or len(stage.strings()) != 1:
            raise JenkinsfileError(f"line {stage.line}: expected stage('Name') {{ ... }} in stages")
        result.append((stage.strings()[0], stage))
    return result


def environment(node: Node) -> dict[str, str]:
    """The literal `KEY = 'value'` entries of a node's `environment` block."""
    values: dict[str, str] = {}
    for block in node.find("environment"):
        for entry in block.children:
            if len(entry.args) != 2 or entry.args[0].text != "=":
                continue
            value = entry.args[1]
            # Single-quoted Groovy strings are never interpolated.
            if value.kind == "string" and ("$" not in value.value or value.text.startswith("'")):
                values[entry.name] = value.value
    return values
