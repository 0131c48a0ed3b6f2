"""Checklist row 10, the git history stays out of the image: its rules on the Dockerfiles."""

from __future__ import annotations

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule
from imgscaffold.check.syntax import Dockerfile

__all__ = ["GitExcluded"]


class GitExcluded(DockerfileRule):
    """.dockerignore keeps .git out of the build context"""

    id = "IMG010"
    row = 10
    severity = Severity.ERROR
    requires = frozenset({"IMG201"})
    fix = (
        "Add .git to .dockerignore (or start it with `*`): "
        "the history has no place in a layer and busts the cache."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        ignore = repo.dockerignore(dockerfile)
        if ignore is None or ignore.excludes(".git"):
            return []
        return [self.finding(".git is part of the build context", ignore.path, None)]
