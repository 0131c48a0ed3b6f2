"""Checklist row 9, no runtime downloads: its rules on the Dockerfiles."""

from __future__ import annotations

import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.dockerfile import DockerfileRule, runtime_commands, words
from imgscaffold.check.syntax import Dockerfile

__all__ = ["NoRuntimeDownloads", "VerifiedBuildDownloads", "runtime_download"]

_DOWNLOADERS = re.compile(r"\b(curl|wget)\b")
_INSTALLERS = re.compile(
    r"\b(pip3?|uv pip|npm|yarn|pnpm|gem|composer|go (get|install)) (install|add|ci|update)\b|"
    r"\b(apt-get|apt|apk|yum|dnf|zypper|microdnf) (install|add|update|upgrade)\b|"
    r"\bgit (clone|pull|fetch)\b"
)
_PIPE_TO_SHELL = re.compile(r"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b")
_LOCALHOST = re.compile(r"(localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)")


class NoRuntimeDownloads(DockerfileRule):
    """ENTRYPOINT, CMD and HEALTHCHECK download or install nothing"""

    id = "IMG009"
    row = 9
    severity = Severity.ERROR
    fix = (
        "Install and download at build time (pinned, verified); "
        "the container must start with --network none."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        for i in runtime_commands(dockerfile):
            problem = runtime_download(i.command, probe=i.keyword == "HEALTHCHECK")
            if problem:
                found.append(self.at(dockerfile, i.line, f"{i.keyword} {problem}"))
        return found


def runtime_download(text: str, *, probe: bool = False) -> str | None:
    """What in a start-up command downloads or installs something, if anything does."""
    if _PIPE_TO_SHELL.search(text):
        return "pipes a download into a shell"
    match = _INSTALLERS.search(text)
    if match:
        return f"runs {match.group(0)!r}"
    for line in text.splitlines():
        match = _DOWNLOADERS.search(line)
        # A probe that asks the service itself over loopback downloads nothing.
        if match and not (probe and _LOCALHOST.search(line)):
            return f"runs {match.group(0)}"
    return None


class VerifiedBuildDownloads(DockerfileRule):
    """Build-time downloads are verified by checksum"""

    id = "IMG109"
    row = 9
    severity = Severity.ERROR
    fix = (
        "Use ADD --checksum=sha256:..., or download to a file and check it with sha256sum -c "
        "before use; never pipe a download into a shell."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        for i in dockerfile.instructions:
            if i.keyword == "ADD":
                urls = [w for w in words(i) if re.match(r"https?://|git@", w)]
                if urls and "checksum" not in i.flags and not urls[0].startswith("git@"):
                    found.append(self.at(dockerfile, i.line, f"ADD {urls[0]} without --checksum"))
            elif i.keyword == "RUN":
                if _PIPE_TO_SHELL.search(i.command):
                    found.append(self.at(dockerfile, i.line, "RUN pipes a download into a shell"))
                elif (
                    _DOWNLOADERS.search(i.command)
                    and re.search(r"https?://", i.command)
                    and not re.search(
                        r"sha(256|512)sum|--checksum|gpg --verify|cosign verify|--require-hashes|"
                        r"echo \S+ +\S+ *\| *sha",
                        i.command,
                    )
                ):
                    found.append(
                        self.at(
                            dockerfile,
                            i.line,
                            "RUN downloads a file without verifying its checksum",
                        )
                    )
        return found
