"""Checklist row 14, data in volumes: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import (
    DockerfileRule,
    assignments,
    chain_instructions,
    shell_free,
)
from imgscaffold.check.syntax import Dockerfile, substitute

__all__ = ["DataVolume", "VolumeOwned"]


class DataVolume(DockerfileRule):
    """The final stage declares a VOLUME for its data"""

    id = "IMG014"
    row = 14
    severity = Severity.WARNING
    fix = (
        'Declare VOLUME ["/data"] for the directory the service writes, owned by the runtime user.'
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        if any(i.keyword == "VOLUME" for i in chain_instructions(dockerfile, dockerfile.final)):
            return []
        return [
            self.at(
                dockerfile,
                dockerfile.final.line,
                "no VOLUME: where does the service keep its data?",
            )
        ]


class VolumeOwned(DockerfileRule):
    """Each VOLUME directory is prepared for the runtime user"""

    id = "IMG114"
    row = 14
    severity = Severity.WARNING
    requires = frozenset({"IMG014"})
    fix = (
        "Create the directory before VOLUME and chown it to the runtime uid "
        "(RUN mkdir -p /data && chown 10001:10001 /data, or COPY --chown)."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        chain = chain_instructions(dockerfile, dockerfile.final)
        env: dict[str, str | None] = {}
        for item in chain:
            if item.keyword == "ENV":
                env.update(assignments(item.value))
        found = []
        for position, i in enumerate(chain):
            if i.keyword != "VOLUME":
                continue
            before = chain[:position]
            for path in i.exec_form or i.value.split():
                path = path.rstrip("/")
                prepared = any(
                    (
                        x.keyword == "RUN"
                        and re.search(r"\b(chown|install\b[^;&]*-o|chmod)\b", x.command)
                        and path in substitute(x.command, env)
                    )
                    or (x.keyword in {"COPY", "ADD"} and "chown" in x.flags and path in x.value)
                    or (x.keyword == "WORKDIR" and x.value.strip().rstrip("/") == path)
                    for x in before
                )
                if not prepared and not shell_free(dockerfile, dockerfile.final):
                    found.append(
                        self.at(
                            dockerfile, i.line, f"VOLUME {path} is not created for the runtime user"
                        )
                    )
        return found
