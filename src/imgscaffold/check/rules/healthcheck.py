"""Checklist row 12, a HEALTHCHECK: its rules on the Dockerfiles."""

from __future__ import annotations

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import (
    DockerfileRule,
    chain_instructions,
    runtime_commands,
    shell_free,
)
from imgscaffold.check.syntax import Dockerfile

__all__ = ["Healthcheck", "HealthcheckOptions", "ProbeRunnable"]

_HEALTH_FLAGS = ("interval", "timeout", "start-period", "retries")


class Healthcheck(DockerfileRule):
    """The final stage has exactly one HEALTHCHECK"""

    id = "IMG012"
    row = 12
    severity = Severity.WARNING
    fix = (
        "Add HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --start-interval=1s "
        '--retries=3 CMD ["/usr/local/bin/healthcheck"] (--start-interval needs Docker Engine 25).'
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        checks = [
            i
            for i in chain_instructions(dockerfile, dockerfile.final)
            if i.keyword == "HEALTHCHECK"
        ]
        if not checks:
            return [
                self.at(dockerfile, dockerfile.final.line, "the final stage has no HEALTHCHECK")
            ]
        if checks[-1].value.strip().upper() == "NONE":
            return [
                self.at(
                    dockerfile, checks[-1].line, "HEALTHCHECK NONE switches the health check off"
                )
            ]
        own = dockerfile.final.find("HEALTHCHECK")
        if len(own) > 1:
            return [
                self.at(dockerfile, i.line, f"overridden by the HEALTHCHECK on line {own[-1].line}")
                for i in own[:-1]
            ]
        return []


class HealthcheckOptions(DockerfileRule):
    """The HEALTHCHECK sets interval, timeout, start period and retries"""

    id = "IMG112"
    row = 12
    severity = Severity.INFO
    requires = frozenset({"IMG012"})
    fix = (
        "Give --interval, --timeout, --start-period and --retries explicitly; "
        "the defaults (30s, 30s, 0s, 3) suit few services. "
        "With Docker Engine 25 or newer, "
        "--start-interval=1s also makes a starting container healthy within about a second."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        check = runtime_commands(dockerfile)
        health = [i for i in check if i.keyword == "HEALTHCHECK"]
        if not health:
            return []
        missing = [f"--{flag}" for flag in _HEALTH_FLAGS if flag not in health[0].flags]
        if not missing:
            return []
        return [self.at(dockerfile, health[0].line, "HEALTHCHECK without " + ", ".join(missing))]


class ProbeRunnable(DockerfileRule):
    """The health probe can run in the image"""

    id = "IMG212"
    row = 12
    severity = Severity.ERROR
    requires = frozenset({"IMG012"})
    fix = (
        "In an image without a shell, write the probe in exec form and ship the program it runs "
        "(e.g. the service binary with a health subcommand)."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        if not shell_free(dockerfile, dockerfile.final):
            return []
        found = []
        for i in runtime_commands(dockerfile):
            if i.exec_form is None and i.value.strip().upper() != "NONE":
                found.append(
                    self.at(
                        dockerfile, i.line, f"{i.keyword} in shell form, but the image has no shell"
                    )
                )
            elif i.exec_form and i.exec_form[0] in {
                "sh",
                "/bin/sh",
                "bash",
                "/bin/bash",
                "curl",
                "wget",
            }:
                found.append(
                    self.at(
                        dockerfile,
                        i.line,
                        f"{i.keyword} runs {i.exec_form[0]}, which the image lacks",
                    )
                )
        return found
