"""Checklist row 13, tests during the build: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule, chain_instructions, shell_free
from imgscaffold.check.syntax import Dockerfile

__all__ = ["SmokeTest"]


class SmokeTest(DockerfileRule):
    """A RUN step on the final stage tests the image while it builds"""

    id = "IMG013"
    row = 13
    severity = Severity.WARNING
    fix = (
        "End the final stage with RUN /usr/local/bin/smoke-test.sh "
        "(version, config parse, required files, uid), so a broken image fails the build."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        instructions = chain_instructions(dockerfile, dockerfile.final)
        if shell_free(dockerfile, dockerfile.final):
            # Without a shell the final stage can run nothing: the test runs on the
            # program in the stage that builds it, before the final stage copies it.
            for copy in dockerfile.final.find("COPY"):
                source = dockerfile.stage_named(copy.flags.get("from", ""))
                if source is not None:
                    instructions += chain_instructions(dockerfile, source)
        for i in instructions:
            if i.keyword == "RUN" and re.search(
                r"smoke|self-?test|selftest|\btest\b|check|verify|--version|\bversion\b",
                i.command,
                re.I,
            ):
                return []
        return [
            self.at(
                dockerfile, dockerfile.final.line, "no RUN step of the final stage tests the result"
            )
        ]
