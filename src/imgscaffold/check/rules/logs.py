"""Checklist row 5, logs to stdout and stderr: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import (
    DockerfileRule,
    assignments,
    chain_instructions,
    runtime_commands,
)
from imgscaffold.check.syntax import Dockerfile

__all__ = ["NoLogFiles", "Unbuffered"]

_LOG_FILE = re.compile(
    r"(>>?\s*|--log-?file[= ]|--(access|error)-?log(file)?[= ])(/\S*\.log)\b", re.I
)


class NoLogFiles(DockerfileRule):
    """The service logs to stdout and stderr, not to files"""

    id = "IMG005"
    row = 5
    severity = Severity.WARNING
    fix = (
        "Log to stdout/stderr (or link the log file to /dev/stdout, /dev/stderr) so `docker logs` "
        "and the platform see it."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        chain = chain_instructions(dockerfile, dockerfile.final)
        linked = " ".join(i.command for i in chain if "/dev/std" in i.command)
        found = []
        for i in chain:
            if i.keyword not in {"RUN", "CMD", "ENTRYPOINT", "ENV"}:
                continue
            text = i.command
            if i.keyword == "ENV":
                text = " ".join(
                    f"--logfile={v}"
                    for n, v in assignments(i.value)
                    if v and re.search(r"LOG_?FILE|LOG_?PATH", n, re.I)
                )
            for match in _LOG_FILE.finditer(text):
                if match.group(4) not in linked:
                    found.append(
                        self.at(
                            dockerfile, i.line, f"{i.keyword} writes the log file {match.group(4)}"
                        )
                    )
        return found


class Unbuffered(DockerfileRule):
    """A Python service writes its output unbuffered"""

    id = "IMG105"
    row = 5
    severity = Severity.INFO
    fix = "Set ENV PYTHONUNBUFFERED=1 (or run python -u) so log lines appear when they happen."

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        commands = runtime_commands(dockerfile)
        runs_python = [
            i
            for i in commands
            if i.keyword != "HEALTHCHECK" and re.search(r"\bpython[0-9.]*\b", i.command)
        ]
        if not runs_python:
            return []
        chain = chain_instructions(dockerfile, dockerfile.final)
        if any(i.keyword == "ENV" and "PYTHONUNBUFFERED" in i.value for i in chain):
            return []
        if any(" -u" in f" {i.command}" for i in runs_python):
            return []
        return [self.at(dockerfile, runs_python[0].line, "python runs with buffered output")]
