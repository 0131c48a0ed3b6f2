"""What the Dockerfile rules share: their base class and how they read a stage."""

from __future__ import annotations

import re
import shlex

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Rule
from imgscaffold.check.syntax import Dockerfile, Instruction, Stage

__all__ = [
    "DockerfileRule",
    "assignments",
    "chain_instructions",
    "last",
    "runtime_commands",
    "shell_free",
    "words",
]

#: Base images without a shell: only exec forms can run in them.
_SHELL_FREE = re.compile(
    r"(^scratch$|distroless/(?!.*debug)|^cgr\.dev/chainguard/static|/static-debian)"
)


def shell_free(dockerfile: Dockerfile, stage: Stage) -> bool:
    """Whether the stage's root image has no shell (scratch, distroless, static images)."""
    root = dockerfile.chain(stage)[0]
    return bool(_SHELL_FREE.search(root.resolved_base.split("@")[0]))


def chain_instructions(dockerfile: Dockerfile, stage: Stage) -> list[Instruction]:
    return [i for s in dockerfile.chain(stage) for i in s.instructions if i.keyword != "FROM"]


def last(instructions: list[Instruction], keyword: str) -> Instruction | None:
    found = [i for i in instructions if i.keyword == keyword]
    return found[-1] if found else None


def runtime_commands(dockerfile: Dockerfile) -> list[Instruction]:
    """The final stage's effective ENTRYPOINT, CMD and HEALTHCHECK."""
    if dockerfile.final is None:
        return []
    chain = chain_instructions(dockerfile, dockerfile.final)
    found = [last(chain, keyword) for keyword in ("ENTRYPOINT", "CMD", "HEALTHCHECK")]
    return [i for i in found if i is not None]


def words(instruction: Instruction) -> list[str]:
    if instruction.exec_form is not None:
        return instruction.exec_form
    try:
        return shlex.split(instruction.command, comments=False)
    except ValueError:
        return instruction.command.split()


def assignments(value: str) -> list[tuple[str, str | None]]:
    try:
        words = shlex.split(value)
    except ValueError:
        words = value.split()
    if len(words) == 2 and "=" not in words[0]:
        return [(words[0], words[1])]  # the legacy `ENV NAME value` form
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, sep, default = word.partition("=")
        pairs.append((name, default if sep else None))
    return pairs


class DockerfileRule(Rule):
    """A rule applied to every Dockerfile of the repository."""

    family = "dockerfile"

    def findings(self, repo: Repository) -> list[Finding] | None:
        dockerfiles = [d for d in repo.dockerfiles if d.final is not None]
        if not dockerfiles:
            return None
        return [f for d in dockerfiles for f in self.check_dockerfile(repo, d)]

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        raise NotImplementedError

    def at(self, dockerfile: Dockerfile, line: int | None, message: str) -> Finding:
        return self.finding(message, dockerfile.path, line)
