"""Rules on the Dockerfiles themselves (family `dockerfile`)."""

from __future__ import annotations

import re
import shlex

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import OCI_LABEL_KEYS, Finding, Rule, Severity
from imgscaffold.check.syntax import Dockerfile, Instruction, Stage, substitute

__all__ = ["RULES", "runtime_commands", "shell_free"]

#: Base images without a shell: only exec forms can run in them.
_SHELL_FREE = re.compile(
    r"(^scratch$|distroless/(?!.*debug)|^cgr\.dev/chainguard/static|/static-debian)"
)
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
_ENV_NAMES = {"prod", "production", "dev", "development", "staging", "stage", "test", "qa", "uat"}
_ENV_ARG = re.compile(r"(^|_)(ENV|ENVIRONMENT|STAGE|PROFILE|TIER|DEPLOY_TARGET)$", re.IGNORECASE)
_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY)", re.I)
_SUPERVISORS = re.compile(
    r"\b(supervisord|supervisor|s6-svscan|s6-overlay|/init\b|runsvdir|runit|systemd|/sbin/init|"
    r"monit|pm2(-runtime)?|forever|circusd)\b"
)
_COMPILERS = re.compile(
    r"\b(build-essential|gcc|g\+\+|clang|make|cmake|go build|cargo build|mvn|gradle|javac|"
    r"rustc|dotnet (build|publish))\b"
)
_DOWNLOADERS = re.compile(r"\b(curl|wget)\b")
_INSTALLERS = re.compile(
    r"\b(pip3?|uv pip|npm|yarn|pnpm|gem|composer|go (get|install)) (install|add|ci|update)\b|"
    r"\b(apt-get|apt|apk|yum|dnf|zypper|microdnf) (install|add|update|upgrade)\b|\bgit "
    r"(clone|pull|fetch)\b"
)
_PIPE_TO_SHELL = re.compile(r"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b")
_LOG_FILE = re.compile(
    r"(>>?\s*|--log-?file[= ]|--(access|error)-?log(file)?[= ])(/\S*\.log)\b", re.I
)
_LOCALHOST = re.compile(r"(localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)")
_OCI_KEYS = OCI_LABEL_KEYS
_PER_BUILD_KEYS = ("created", "revision", "version")
_HEALTH_FLAGS = ("interval", "timeout", "start-period", "retries")


def shell_free(dockerfile: Dockerfile, stage: Stage) -> bool:
    """Whether the stage's root image has no shell (scratch, distroless, static images)."""
    root = dockerfile.chain(stage)[0]
    return bool(_SHELL_FREE.search(root.resolved_base.split("@")[0]))


def _chain_instructions(dockerfile: Dockerfile, stage: Stage) -> list[Instruction]:
    return [i for s in dockerfile.chain(stage) for i in s.instructions if i.keyword != "FROM"]


def _last(instructions: list[Instruction], keyword: str) -> Instruction | None:
    found = [i for i in instructions if i.keyword == keyword]
    return found[-1] if found else None


def runtime_commands(dockerfile: Dockerfile) -> list[Instruction]:
    """The final stage's effective ENTRYPOINT, CMD and HEALTHCHECK."""
    if dockerfile.final is None:
        return []
    chain = _chain_instructions(dockerfile, dockerfile.final)
    found = [_last(chain, keyword) for keyword in ("ENTRYPOINT", "CMD", "HEALTHCHECK")]
    return [i for i in found if i is not None]


def _words(instruction: Instruction) -> list[str]:
    if instruction.exec_form is not None:
        return instruction.exec_form
    try:
        return shlex.split(instruction.command, comments=False)
    except ValueError:
        return instruction.command.split()


class DockerfileRule(Rule):
    """A rule applied to every Dockerfile of the repository."""

    family = "dockerfile"

    def findings(self, repo: Repository) -> list[Finding] | None:
        dockerfiles = [d for d in repo.dockerfiles if d.final is not None]
        if not dockerfiles:
            return None
        return [f for d in dockerfiles for f in self.check_dockerfile(repo, d)]

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        raise NotImplementedError

    def at(self, dockerfile: Dockerfile, line: int | None, message: str) -> Finding:
        return self.finding(message, dockerfile.path, line)


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
        'Write ENTRYPOINT ["/path/to/program", "arg"]: in shell form /bin/sh is PID 1 and the '
        "service "
        "never sees SIGTERM."
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
        user = _last(_chain_instructions(dockerfile, final), "USER")
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
                    f"USER {user.value} is a name: Kubernetes' runAsNonRoot can only verify a "
                    f"numeric "
                    f"uid",
                )
            ]
        return []


class Dockerignore(DockerfileRule):
    """A .dockerignore file limits the build context"""

    id = "IMG201"
    row = 1
    severity = Severity.WARNING
    fix = (
        "Add a .dockerignore next to the build context; start with `*` and re-include what the "
        "Dockerfile "
        "copies."
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
        "Compile or build in an earlier stage (FROM ... AS build) and COPY --from=build only the "
        "result."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        found = []
        for run in _chain_instructions(dockerfile, dockerfile.final):
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


class OneService(DockerfileRule):
    """No process supervisor or init system runs several services"""

    id = "IMG002"
    row = 2
    severity = Severity.ERROR
    fix = (
        "Run one service per image; split the others into their own images (compose or Kubernetes "
        "runs "
        "them side by side). tini or dumb-init as a reaper is fine."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        found = []
        for i in _chain_instructions(dockerfile, dockerfile.final):
            if i.keyword not in {"RUN", "ENTRYPOINT", "CMD", "COPY", "ADD"}:
                continue
            match = _SUPERVISORS.search(i.command)
            if match:
                found.append(self.at(dockerfile, i.line, f"{i.keyword} uses {match.group(0)!r}"))
        return found


class OneEntrypoint(DockerfileRule):
    """The final stage has at most one ENTRYPOINT and one CMD"""

    id = "IMG102"
    row = 2
    severity = Severity.WARNING
    fix = "Keep one ENTRYPOINT and one CMD; only the last of each takes effect."

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        found = []
        for keyword in ("ENTRYPOINT", "CMD"):
            items = dockerfile.final.find(keyword)
            found += [
                self.at(
                    dockerfile,
                    i.line,
                    f"{keyword} is overridden by the one on line {items[-1].line}",
                )
                for i in items[:-1]
            ]
        return found


class NoEnvFiles(DockerfileRule):
    """No environment or secret files in the image"""

    id = "IMG003"
    row = 3
    severity = Severity.ERROR
    fix = (
        "Pass settings as environment variables at run time (secrets as *_FILE paths to mounted "
        "files); "
        "exclude **/.env in .dockerignore."
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
        "Read secrets at run time from a mounted file (VAR_FILE) or the environment; use RUN "
        "--mount=type=secret "
        "at build time."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        for i in dockerfile.instructions:
            if i.keyword not in {"ENV", "ARG"}:
                continue
            for name, value in _assignments(i.value):
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


def _assignments(value: str) -> list[tuple[str, str | None]]:
    try:
        words = shlex.split(value)
    except ValueError:
        words = value.split()
    if len(words) == 2 and "=" not in words[0]:
        return [(words[0], words[1])]  # the legacy `ENV NAME value` form
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, sep, default = word.partition("=")
        pairs.append((name, default if sep else None))
    return pairs


class OneImageForAllEnvironments(DockerfileRule):
    """No build argument or stage selects an environment"""

    id = "IMG004"
    row = 4
    severity = Severity.ERROR
    fix = (
        "Build one image and configure it per environment at run time (environment variables, "
        "mounted "
        "config)."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        uses = " ".join(
            i.value for i in dockerfile.instructions if i.keyword not in {"ARG", "LABEL"}
        )
        for i in dockerfile.instructions:
            if i.keyword != "ARG":
                continue
            for name, default in _assignments(i.value):
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


class NoLogFiles(DockerfileRule):
    """The service logs to stdout and stderr, not to files"""

    id = "IMG005"
    row = 5
    severity = Severity.WARNING
    fix = (
        "Log to stdout/stderr (or link the log file to /dev/stdout, /dev/stderr) so `docker logs` "
        "and "
        "the platform see it."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        chain = _chain_instructions(dockerfile, dockerfile.final)
        linked = " ".join(i.command for i in chain if "/dev/std" in i.command)
        found = []
        for i in chain:
            if i.keyword not in {"RUN", "CMD", "ENTRYPOINT", "ENV"}:
                continue
            text = i.command
            if i.keyword == "ENV":
                text = " ".join(
                    f"--logfile={v}"
                    for n, v in _assignments(i.value)
                    if v and re.search(r"LOG_?FILE|LOG_?PATH", n, re.I)
                )
            for match in _LOG_FILE.finditer(text):
                if match.group(4) not in linked:
                    found.append(
                        self.at(
                            dockerfile, i.line, f"{i.keyword} writes the log file {match.group(4)}"
                        )
                    )
        return found


class Unbuffered(DockerfileRule):
    """A Python service writes its output unbuffered"""

    id = "IMG105"
    row = 5
    severity = Severity.INFO
    fix = "Set ENV PYTHONUNBUFFERED=1 (or run python -u) so log lines appear when they happen."

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        commands = runtime_commands(dockerfile)
        runs_python = [
            i
            for i in commands
            if i.keyword != "HEALTHCHECK" and re.search(r"\bpython[0-9.]*\b", i.command)
        ]
        if not runs_python:
            return []
        chain = _chain_instructions(dockerfile, dockerfile.final)
        if any(i.keyword == "ENV" and "PYTHONUNBUFFERED" in i.value for i in chain):
            return []
        if any(" -u" in f" {i.command}" for i in runs_python):
            return []
        return [self.at(dockerfile, runs_python[0].line, "python runs with buffered output")]


class PinnedBase(DockerfileRule):
    """Every base image has an immutable version tag or a digest"""

    id = "IMG008"
    row = 8
    severity = Severity.ERROR
    fix = (
        "Name a full version tag (python:3.12.8-slim-bookworm) and ideally a digest; let Renovate "
        "propose "
        "updates."
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
        "Write ARG BASE_IMAGE=<image:version> before the first FROM and FROM ${BASE_IMAGE}, so CI "
        "can "
        "pin it by digest."
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
        "Pin the frontend: # syntax=docker/dockerfile:1.12.0 (or with @sha256:...), or drop the "
        "directive."
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


class NoRuntimeDownloads(DockerfileRule):
    """ENTRYPOINT, CMD and HEALTHCHECK download or install nothing"""

    id = "IMG009"
    row = 9
    severity = Severity.ERROR
    fix = (
        "Install and download at build time (pinned, verified); the container must start with "
        "--network "
        "none."
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
        "before "
        "use; never pipe a download into a shell."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        found = []
        for i in dockerfile.instructions:
            if i.keyword == "ADD":
                urls = [w for w in _words(i) if re.match(r"https?://|git@", w)]
                if urls and "checksum" not in i.flags and not urls[0].startswith("git@"):
                    found.append(self.at(dockerfile, i.line, f"ADD {urls[0]} without --checksum"))
            elif i.keyword == "RUN":
                if _PIPE_TO_SHELL.search(i.command):
                    found.append(self.at(dockerfile, i.line, "RUN pipes a download into a shell"))
                elif (
                    _DOWNLOADERS.search(i.command)
                    and re.search(r"https?://", i.command)
                    and not re.search(
                        r"sha(256|512)sum|--checksum|gpg --verify|cosign "
                        r"verify|--require-hashes|echo "
                        r"\S+ +\S+ *\| *sha",
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


class GitExcluded(DockerfileRule):
    """.dockerignore keeps .git out of the build context"""

    id = "IMG010"
    row = 10
    severity = Severity.ERROR
    requires = frozenset({"IMG201"})
    fix = (
        "Add .git to .dockerignore (or start it with `*`): the history has no place in a layer and "
        "busts the cache."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        ignore = repo.dockerignore(dockerfile)
        if ignore is None or ignore.excludes(".git"):
            return []
        return [self.finding(".git is part of the build context", ignore.path, None)]


def _labels(dockerfile: Dockerfile, stage: Stage) -> dict[str, tuple[str, Instruction]]:
    labels: dict[str, tuple[str, Instruction]] = {}
    for i in _chain_instructions(dockerfile, stage):
        if i.keyword == "LABEL":
            for name, value in _assignments(i.value):
                labels[name.strip("\"'")] = (value or "", i)
    return labels


class OciLabels(DockerfileRule):
    """The final stage sets every OCI image label"""

    id = "IMG011"
    row = 11
    severity = Severity.WARNING
    fix = (
        "Add one LABEL block with org.opencontainers.image.* keys, their values from build "
        "arguments."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        labels = _labels(dockerfile, dockerfile.final)
        missing = [k for k in _OCI_KEYS if f"org.opencontainers.image.{k}" not in labels]
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
        "Declare ARG BUILD_DATE, VCS_REF and VERSION and write LABEL "
        'org.opencontainers.image.created="${BUILD_DATE}" '
        "etc."
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
                            f"{later[0].line} "
                            f"bust its cache",
                        )
                    ]
        return []


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
            for i in _chain_instructions(dockerfile, dockerfile.final)
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
        "Give --interval, --timeout, --start-period and --retries explicitly; the defaults (30s, "
        "30s, 0s, 3) suit few services. With Docker Engine 25 or newer, --start-interval=1s "
        "also makes a starting container healthy within about a second."
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
        "(e.g. "
        "the service binary with a health subcommand)."
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


class SmokeTest(DockerfileRule):
    """A RUN step on the final stage tests the image while it builds"""

    id = "IMG013"
    row = 13
    severity = Severity.WARNING
    fix = (
        "End the final stage with RUN /usr/local/bin/smoke-test.sh (version, config parse, "
        "required "
        "files, uid), so a broken image fails the build."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        instructions = _chain_instructions(dockerfile, dockerfile.final)
        if shell_free(dockerfile, dockerfile.final):
            # Without a shell the final stage can run nothing: the test runs on the
            # program in the stage that builds it, before the final stage copies it.
            for copy in dockerfile.final.find("COPY"):
                source = dockerfile.stage_named(copy.flags.get("from", ""))
                if source is not None:
                    instructions += _chain_instructions(dockerfile, source)
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


class DataVolume(DockerfileRule):
    """The final stage declares a VOLUME for its data"""

    id = "IMG014"
    row = 14
    severity = Severity.WARNING
    fix = (
        'Declare VOLUME ["/data"] for the directory the service writes, owned by the runtime user.'
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        if any(i.keyword == "VOLUME" for i in _chain_instructions(dockerfile, dockerfile.final)):
            return []
        return [
            self.at(
                dockerfile,
                dockerfile.final.line,
                "no VOLUME: where does the service keep its data?",
            )
        ]


class VolumeOwned(DockerfileRule):
    """Each VOLUME directory is prepared for the runtime user"""

    id = "IMG114"
    row = 14
    severity = Severity.WARNING
    requires = frozenset({"IMG014"})
    fix = (
        "Create the directory before VOLUME and chown it to the runtime uid (RUN mkdir -p /data && "
        "chown 10001:10001 /data, or COPY --chown)."
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        assert dockerfile.final is not None
        chain = _chain_instructions(dockerfile, dockerfile.final)
        env: dict[str, str | None] = {}
        for item in chain:
            if item.keyword == "ENV":
                env.update(_assignments(item.value))
        found = []
        for position, i in enumerate(chain):
            if i.keyword != "VOLUME":
                continue
            before = chain[:position]
            for path in i.exec_form or i.value.split():
                path = path.rstrip("/")
                prepared = any(
                    (
                        x.keyword == "RUN"
                        and re.search(r"\b(chown|install\b[^;&]*-o|chmod)\b", x.command)
                        and path in substitute(x.command, env)
                    )
                    or (x.keyword in {"COPY", "ADD"} and "chown" in x.flags and path in x.value)
                    or (x.keyword == "WORKDIR" and x.value.strip().rstrip("/") == path)
                    for x in before
                )
                if not prepared and not shell_free(dockerfile, dockerfile.final):
                    found.append(
                        self.at(
                            dockerfile, i.line, f"VOLUME {path} is not created for the runtime user"
                        )
                    )
        return found


class BuildGuard(DockerfileRule):
    """A bare `docker build` fails early with a pointer to the build scripts"""

    id = "IMG015"
    row = 15
    severity = Severity.INFO
    fix = (
        "Declare ARG never_build_manually (no default) and fail early: RUN [ -n "
        '"${never_build_manually}" '
        '] || { echo "use ./local_build.sh" >&2; exit 1; }'
    )

    def check_dockerfile(self, repo: Repository, dockerfile: Dockerfile) -> list[Finding]:
        required = {
            name
            for i in dockerfile.instructions
            if i.keyword == "ARG"
            for name, default in _assignments(i.value)
            if default is None
        }
        for i in dockerfile.instructions:
            if i.keyword != "RUN":
                continue
            for name in required:
                if re.search(
                    rf"(-z|-n)\s+\"?\$\{{?{name}\b|\$\{{{name}:?\?", i.command
                ) and re.search(r"exit\s+[1-9]|:\?", i.command):
                    return []
        return [
            self.at(dockerfile, dockerfile.stages[0].line, "a bare `docker build` goes through")
        ]


RULES: list[Rule] = [
    Parses(),
    ExecForm(),
    NonRootUser(),
    Dockerignore(),
    BuildToolsOutOfFinalStage(),
    OneService(),
    OneEntrypoint(),
    NoEnvFiles(),
    NoBakedSecrets(),
    OneImageForAllEnvironments(),
    NoLogFiles(),
    Unbuffered(),
    PinnedBase(),
    BaseFromArg(),
    PinnedSyntax(),
    NoRuntimeDownloads(),
    VerifiedBuildDownloads(),
    GitExcluded(),
    OciLabels(),
    LabelsFromArgs(),
    LabelsLate(),
    Healthcheck(),
    HealthcheckOptions(),
    ProbeRunnable(),
    SmokeTest(),
    DataVolume(),
    VolumeOwned(),
    BuildGuard(),
]
