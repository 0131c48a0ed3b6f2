"""Checklist row 11, labels from build arguments: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import OCI_LABEL_KEYS, Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule, assignments, chain_instructions
from imgscaffold.check.syntax import Dockerfile, Instruction, Stage

__all__ = ["LabelsFromArgs", "LabelsLate", "OciLabels"]

_PER_BUILD_KEYS = ("created", "revision", "version")


def _labels(dockerfile: Dockerfile, stage: Stage) -> dict[str, tuple[str, Instruction]]:
    labels: dict[str, tuple[str, Instruction]] = {}
    for i in chain_instructions(dockerfile, stage):
        if i.keyword == "LABEL":
            for name, value in assignments(i.value):
                labels[name.strip("\"'")] = (value or "", i)
    return labels


class OciLabels(DockerfileRule):
    """The final stage sets every OCI image label"""

    id = "IMG011"
    row = 11
    severity = Severity.WARNING
    fix = (
        "Add one LABEL block with org.opencontainers.image.* keys, "
        "their values from build arguments."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        labels = _labels(dockerfile, dockerfile.final)
        missing = [k for k in OCI_LABEL_KEYS if f"org.opencontainers.image.{k}" not in labels]
        if not missing:
            return []
        line = next(iter(labels.values()))[1].line if labels else dockerfile.final.line
        return [self.at(dockerfile, line, "missing labels: " + ", ".join(missing))]


class LabelsFromArgs(DockerfileRule):
    """The per-build labels take their values from build arguments"""

    id = "IMG111"
    row = 11
    severity = Severity.WARNING
    requires = frozenset({"IMG011"})
    fix = (
        "Declare ARG BUILD_DATE, VCS_REF and VERSION "
        'and write LABEL org.opencontainers.image.created="${BUILD_DATE}" etc.'
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        labels = _labels(dockerfile, dockerfile.final)
        found = []
        for key in _PER_BUILD_KEYS:
            entry = labels.get(f"org.opencontainers.image.{key}")
            if entry is not None and "$" not in entry[0]:
                found.append(
                    self.at(dockerfile, entry[1].line, f"label {key} is the literal {entry[0]!r}")
                )
        return found


class LabelsLate(DockerfileRule):
    """Labels that change with every build come after the cached steps"""

    id = "IMG211"
    row = 11
    severity = Severity.INFO
    fix = "Move the LABEL block (and its ARGs) to the end of the final stage."

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        instructions = dockerfile.final.instructions
        for position, i in enumerate(instructions):
            if i.keyword == "LABEL" and re.search(r"\.(created|revision)=\S*\$", i.value):
                later = [
                    x for x in instructions[position + 1 :] if x.keyword in {"RUN", "COPY", "ADD"}
                ]
                if later:
                    return [
                        self.at(
                            dockerfile,
                            i.line,
                            f"per-build labels before the {later[0].keyword} on line "
                            f"{later[0].line} bust its cache",
                        )
                    ]
        return []
