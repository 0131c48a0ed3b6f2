"""Checklist row 1, Dockerfile best practice: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Rule, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule, chain_instructions, last
from imgscaffold.check.syntax import Dockerfile, substitute

__all__ = ["BuildToolsOutOfFinalStage", "Dockerignore", "ExecForm", "NonRootUser", "Parses"]

_COMPILERS = re.compile(
    r"\b(build-essential|gcc|g\+\+|clang|make|cmake|go build|cargo build|mvn|gradle|javac|rustc|"
    r"dotnet (build|publish))\b"
)


class Parses(Rule):
    """Every Dockerfile parses"""

    id = "IMG401"
    row = 1
    family = "dockerfile"
    severity = Severity.ERROR
    fix = "Make the file a valid Dockerfile, or rename it if it is not one."

    def findings(self, repo: Repository) -> list[Finding] | None:
        if not repo.dockerfiles:
            return None
        return [
            self.finding(message, d.path, line)
            for d in repo.dockerfiles
            for line, message in d.problems
        ]


class ExecForm(DockerfileRule):
    """ENTRYPOINT and CMD use the exec (JSON) form"""

    id = "IMG001"
    row = 1
    severity = Severity.WARNING
    fix = (
        'Write ENTRYPOINT ["/path/to/program", "arg"]: '
        "in shell form /bin/sh is PID 1 and the service never sees SIGTERM."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        return [
            self.at(dockerfile, i.line, f"{i.keyword} in shell form: {i.value[:60]}")
            for i in dockerfile.final.find("ENTRYPOINT", "CMD")
            if i.exec_form is None
        ]


class NonRootUser(DockerfileRule):
    """The final stage runs as a fixed numeric non-root user"""

    id = "IMG101"
    row = 1
    severity = Severity.ERROR
    fix = "Create the user in the image and end with USER 10001:10001 (numeric, not 0)."

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        final = dockerfile.final
        user = last(chain_instructions(dockerfile, final), "USER")
        if user is None:
            if re.search(r":nonroot\b|-nonroot\b", dockerfile.chain(final)[0].resolved_base):
                return []
            return [self.at(dockerfile, final.line, "no USER in the final stage: it runs as root")]
        value = substitute(user.value.strip(), {})
        name = value.split(":")[0]
        if name in {"0", "root"}:
            return [self.at(dockerfile, user.line, f"USER {user.value} runs as root")]
        if not name.isdigit():
            return [
                self.at(
                    dockerfile,
                    user.line,
                    f"USER {user.value} is a name: "
                    "Kubernetes' runAsNonRoot can only verify a numeric uid",
                )
            ]
        return []


class Dockerignore(DockerfileRule):
    """A .dockerignore file limits the build context"""

    id = "IMG201"
    row = 1
    severity = Severity.WARNING
    fix = (
        "Add a .dockerignore next to the build context; "
        "start with `*` and re-include what the Dockerfile copies."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        if repo.dockerignore(dockerfile) is None:
            return [
                self.at(dockerfile, None, "no .dockerignore for this Dockerfile's build context")
            ]
        return []


class BuildToolsOutOfFinalStage(DockerfileRule):
    """Compilers and build tools stay out of the final stage"""

    id = "IMG301"
    row = 1
    severity = Severity.WARNING
    fix = (
        "Compile or build in an earlier stage (FROM ... AS build) "
        "and COPY --from=build only the result."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        found = []
        for run in chain_instructions(dockerfile, dockerfile.final):
            if run.keyword != "RUN":
                continue
            match = _COMPILERS.search(run.command)
            if match and not re.search(
                r"\b(apt-get|apk|yum|dnf)\b[^&;]*\b(purge|remove|del)\b", run.command
            ):
                found.append(
                    self.at(
                        dockerfile,
                        run.line,
                        f"the final image builds or installs {match.group(0)!r}",
                    )
                )
        return found
