"""Checklist row 4, never a different image per environment: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule, assignments
from imgscaffold.check.syntax import Dockerfile

__all__ = ["OneImageForAllEnvironments"]

_ENV_NAMES = {"prod", "production", "dev", "development", "staging", "stage", "test", "qa", "uat"}
_ENV_ARG = re.compile(r"(^|_)(ENV|ENVIRONMENT|STAGE|PROFILE|TIER|DEPLOY_TARGET)$", re.IGNORECASE)


class OneImageForAllEnvironments(DockerfileRule):
    """No build argument or stage selects an environment"""

    id = "IMG004"
    row = 4
    severity = Severity.ERROR
    fix = (
        "Build one image and configure it per environment at run time "
        "(environment variables, mounted config)."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        uses = " ".join(
            i.value for i in dockerfile.instructions if i.keyword not in {"ARG", "LABEL"}
        )
        for i in dockerfile.instructions:
            if i.keyword != "ARG":
                continue
            for name, default in assignments(i.value):
                by_name = bool(_ENV_ARG.search(name))
                by_default = (default or "").strip("\"'").lower() in _ENV_NAMES
                used = re.search(rf"\$\{{?{re.escape(name)}\b", uses) is not None
                if (by_name or by_default) and used:
                    found.append(
                        self.at(dockerfile, i.line, f"build argument {name} selects an environment")
                    )
        env_stages = [s for s in dockerfile.stages if s.name in _ENV_NAMES]
        if len(env_stages) > 1:
            names = ", ".join(str(s.name) for s in env_stages)
            found.append(
                self.at(dockerfile, env_stages[0].line, f"one stage per environment ({names})")
            )
        return found
