"""Checklist row 8, repeatable builds: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule
from imgscaffold.check.syntax import Dockerfile

__all__ = ["BaseFromArg", "PinnedBase", "PinnedSyntax"]

_MOVING_TAGS = {
    "latest",
    "stable",
    "edge",
    "current",
    "lts",
    "main",
    "master",
    "nightly",
    "rolling",
}


class PinnedBase(DockerfileRule):
    """Every base image has an immutable version tag or a digest"""

    id = "IMG008"
    row = 8
    severity = Severity.ERROR
    fix = (
        "Name a full version tag (python:3.12.8-slim-bookworm) and ideally a digest; "
        "let Renovate propose updates."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        for stage in dockerfile.stages:
            if stage.parent is not None or stage.resolved_base == "scratch":
                continue
            ref = stage.resolved_base
            if "$" in stage.base and (ref.strip() in {"", ":"} or ref.startswith(("/", ":", "@"))):
                found.append(
                    self.at(
                        dockerfile, stage.line, f"FROM {stage.base}: the argument has no default"
                    )
                )
                continue
            if "@sha256:" in ref:
                continue
            name = ref.rsplit("/", 1)[-1]
            tag = name.partition(":")[2]
            if not tag:
                found.append(
                    self.at(dockerfile, stage.line, f"FROM {ref} has no tag: it means :latest")
                )
            elif tag.lower() in _MOVING_TAGS:
                found.append(
                    self.at(dockerfile, stage.line, f"FROM {ref} uses the moving tag {tag!r}")
                )
            elif not re.search(r"\d", tag):
                found.append(
                    self.at(dockerfile, stage.line, f"FROM {ref}: the tag {tag!r} names no version")
                )
        return found


class BaseFromArg(DockerfileRule):
    """The base image comes from a build argument"""

    id = "IMG108"
    row = 8
    severity = Severity.INFO
    fix = (
        "Write ARG BASE_IMAGE=<image:version> before the first FROM and FROM ${BASE_IMAGE}, "
        "so CI can pin it by digest."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        root = dockerfile.chain(dockerfile.final)[0]
        if root.resolved_base == "scratch" or "$" in root.base:
            return []
        return [
            self.at(dockerfile, root.line, f"FROM {root.base} is written out, not a build argument")
        ]


class PinnedSyntax(DockerfileRule):
    """A `# syntax=` directive is absent or pinned"""

    id = "IMG208"
    row = 8
    severity = Severity.WARNING
    fix = (
        "Pin the frontend: "
        "# syntax=docker/dockerfile:1.12.0 (or with @sha256:...), or drop the directive."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        syntax = dockerfile.directives.get("syntax")
        if syntax is None or "@sha256:" in syntax:
            return []
        tag = syntax.rsplit("/", 1)[-1].partition(":")[2]
        if re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", tag):
            return []
        return [
            self.at(
                dockerfile,
                dockerfile.directive_lines["syntax"],
                f"syntax={syntax} moves with every frontend release",
            )
        ]
