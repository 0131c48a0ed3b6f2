"""Checklist row 2, one service per image: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule, chain_instructions
from imgscaffold.check.syntax import Dockerfile

__all__ = ["OneEntrypoint", "OneService"]

_SUPERVISORS = re.compile(
    r"\b(supervisord|supervisor|s6-svscan|s6-overlay|/init\b|runsvdir|runit|systemd|/sbin/init|"
    r"monit|pm2(-runtime)?|forever|circusd)\b"
)


class OneService(DockerfileRule):
    """No process supervisor or init system runs several services"""

    id = "IMG002"
    row = 2
    severity = Severity.ERROR
    fix = (
        "Run one service per image; "
        "split the others into their own images (compose or Kubernetes runs them side by side). "
        "tini or dumb-init as a reaper is fine."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        found = []
        for i in chain_instructions(dockerfile, dockerfile.final):
            if i.keyword not in {"RUN", "ENTRYPOINT", "CMD", "COPY", "ADD"}:
                continue
            match = _SUPERVISORS.search(i.command)
            if match:
                found.append(self.at(dockerfile, i.line, f"{i.keyword} uses {match.group(0)!r}"))
        return found


class OneEntrypoint(DockerfileRule):
    """The final stage has at most one ENTRYPOINT and one CMD"""

    id = "IMG102"
    row = 2
    severity = Severity.WARNING
    fix = "Keep one ENTRYPOINT and one CMD; only the last of each takes effect."

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        found = []
        for keyword in ("ENTRYPOINT", "CMD"):
            items = dockerfile.final.find(keyword)
            found += [
                self.at(
                    dockerfile,
                    i.line,
                    f"{keyword} is overridden by the one on line {items[-1].line}",
                )
                for i in items[:-1]
            ]
        return found
