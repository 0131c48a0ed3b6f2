"""Checklist row 15, automated builds only: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule, assignments
from imgscaffold.check.syntax import Dockerfile

__all__ = ["BuildGuard"]


class BuildGuard(DockerfileRule):
    """A bare `docker build` fails early with a pointer to the build scripts"""

    id = "IMG015"
    row = 15
    severity = Severity.INFO
    fix = (
        "Declare ARG never_build_manually (no default) and fail early: "
        'RUN [ -n "${never_build_manually}" ] || { echo "use ./local_build.sh" >&2; exit 1; }'
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        required = {
            name
            for i in dockerfile.instructions
            if i.keyword == "ARG"
            for name, default in assignments(i.value)
            if default is None
        }
        for i in dockerfile.instructions:
            if i.keyword != "RUN":
                continue
            for name in required:
                if re.search(
                    rf"(-z|-n)\s+\"?\$\{{?{name}\b|\$\{{{name}:?\?", i.command
                ) and re.search(r"exit\s+[1-9]|:\?", i.command):
                    return []
        return [
            self.at(dockerfile, dockerfile.stages[0].line, "a bare `docker build` goes through")
        ]
