"""Rules on the scripts the image runs and the scripts that build it (family `scripts`)."""

from __future__ import annotations

import posixpath
import re

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Rule, Severity
from imgscaffold.check.rules.dockerfile import runtime_commands
from imgscaffold.check.rules.no_runtime_downloads import runtime_download
from imgscaffold.check.syntax import Dockerfile

__all__ = ["entrypoint_scripts"]

_PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_SHEBANG_SHELL = re.compile(r"^#!\s*\S*(/|env\s+)(ba|da|z|k)?sh\b")


def entrypoint_scripts(repo: Repository, dockerfile: Dockerfile) -> list[tuple[str, int]]:
    """Repository files the final stage's ENTRYPOINT or CMD runs, and the line that runs them."""
    final = dockerfile.final
    if final is None:
        return []
    copies = [
        i
        for stage in dockerfile.chain(final)
        for i in stage.instructions
        if i.keyword in {"COPY", "ADD"} and "from" not in i.flags
    ]
    found: list[tuple[str, int]] = []
    for command in runtime_commands(dockerfile):
        if command.keyword == "HEALTHCHECK":
            continue
        words = command.exec_form if command.exec_form is not None else command.command.split()
        for word in words[:2]:
            # A bare name runs from PATH, as official images' docker-entrypoint.sh does.
            names = [word] if "/" in word else [f"{d}/{word}" for d in _PATH_DIRS]
            for copy in copies:
                parts = copy.exec_form or copy.command.split()
                parts = [p for p in parts if not p.startswith("<<")]
                if len(parts) < 2:
                    continue
                *sources, destination = parts
                for source in sources:
                    target = destination
                    if destination.endswith("/") or len(sources) > 1:
                        target = posixpath.join(destination, posixpath.basename(source))
                    if posixpath.normpath(target) in names:
                        path = repo.in_context(dockerfile, source)
                        if path is not None and (path, command.line) not in found:
                            found.append((path, command.line))
    return found


class ScriptRule(Rule):
    family = "scripts"

    def findings(self, repo: Repository) -> list[Finding] | None:
        scripts = {
            path: line
            for dockerfile in repo.dockerfiles
            for path, line in entrypoint_scripts(repo, dockerfile)
        }
        if not scripts:
            return None
        return [f for path in scripts for f in self.check_script(path, repo.read(path) or "")]

    def check_script(self, path: str, text: str) -> list[Finding]:
        raise NotImplementedError


class ScriptNoDownloads(ScriptRule):
    """The entrypoint script downloads or installs nothing"""

    id = "IMG209"
    row = 9
    severity = Severity.ERROR
    fix = (
        "Move downloads and installs into the Dockerfile (pinned, verified); "
        "start-up must work with --network none."
    )

    def check_script(self, path: str, text: str) -> list[Finding]:
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            code = line.split(" #", 1)[0].strip()
            if not code or code.startswith("#"):
                continue
            problem = runtime_download(code)
            if problem:
                found.append(self.finding(f"the entrypoint {problem}", path, number))
        return found


class ScriptExecs(ScriptRule):
    """The entrypoint script hands over to the service with exec"""

    id = "IMG202"
    row = 2
    severity = Severity.WARNING
    fix = (
        'End the wrapper with exec "$@": '
        "the service becomes PID 1 (or the child of tini) and receives SIGTERM."
    )

    def check_script(self, path: str, text: str) -> list[Finding]:
        if not _SHEBANG_SHELL.match(text):
            return []
        if re.search(r"^\s*exec\s+(\S+\s+)*\"\$@\"|^\s*exec\s+\S", text, re.M):
            return []
        return [self.finding("the wrapper never execs the service: the shell stays PID 1", path, 1)]


class LocalBuildNeverPushes(Rule):
    """The local build script never pushes"""

    id = "IMG215"
    row = 15
    family = "scripts"
    severity = Severity.ERROR
    fix = (
        "Only CI pushes: "
        "drop `docker push` from the local build script and tag its images as development builds."
    )

    def findings(self, repo: Repository) -> list[Finding] | None:
        scripts = [
            f
            for f in repo.files
            if re.search(r"(^|/)(local[_-]?build|build[_-]?local)[^/]*$", f, re.I)
        ]
        if not scripts:
            return None
        found = []
        for path in scripts:
            for number, line in enumerate((repo.read(path) or "").splitlines(), start=1):
                code = line.split("#", 1)[0]
                if re.search(
                    r"\b(docker|podman|buildah)\s+(image\s+)?push\b|buildx build\b.*--push\b", code
                ):
                    found.append(self.finding("the local build pushes an image", path, number))
        return found
