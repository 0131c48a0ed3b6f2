"""Checklist row 3, configuration from the environment: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule, assignments
from imgscaffold.check.syntax import Dockerfile

__all__ = ["NoBakedSecrets", "NoEnvFiles"]

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY)", re.I)


class NoEnvFiles(DockerfileRule):
    """No environment or secret files in the image"""

    id = "IMG003"
    row = 3
    severity = Severity.ERROR
    fix = (
        "Pass settings as environment variables at run time "
        "(secrets as *_FILE paths to mounted files); exclude **/.env in .dockerignore."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        for i in dockerfile.instructions:
            if i.keyword in {"COPY", "ADD"} and re.search(
                r"(^|[\s/])\.env(\.[\w-]+)?(\s|$)|\S+\.env(\s|$)", i.command
            ):
                found.append(self.at(dockerfile, i.line, f"{i.keyword} copies an environment file"))
        ignore = repo.dockerignore(dockerfile)
        context = repo.context_dir(dockerfile)
        for path in repo.files:
            name = path.rsplit("/", 1)[-1]
            if not (name == ".env" or name.startswith(".env.") or name.endswith(".env")):
                continue
            if context and not path.startswith(context + "/"):
                continue
            relative = path[len(context) + 1 :] if context else path
            if ignore is None or not ignore.excludes(relative):
                found.append(
                    self.at(
                        dockerfile,
                        None,
                        f"{path} is in the build context (not excluded by .dockerignore)",
                    )
                )
        return found


class NoBakedSecrets(DockerfileRule):
    """No secret is set in ENV or given a default in ARG"""

    id = "IMG103"
    row = 3
    severity = Severity.ERROR
    fix = (
        "Read secrets at run time from a mounted file (VAR_FILE) or the environment; "
        "use RUN --mount=type=secret at build time."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        for i in dockerfile.instructions:
            if i.keyword not in {"ENV", "ARG"}:
                continue
            for name, value in assignments(i.value):
                if (
                    _SECRET_NAME.search(name)
                    and not name.upper().endswith("_FILE")
                    and value
                    and "$" not in value
                ):
                    found.append(
                        self.at(dockerfile, i.line, f"{i.keyword} {name} has a literal value")
                    )
        return found
