"""Helpers the test suites share: the command line, template versions, an image's facts.

- `run_cli`: the real command line in a child process; `run_cli_in_process` the same entry
  point with the same arguments in this process, for the many cases that only look at the
  exit code and the output (a child costs the interpreter's start and every import again).
- Template versions built on the fly and repositories rendered from them. As copier's own
  tests do, each template is a temporary git repository with synthetic release tags; the
  builders remember what they built for the pytest session, so each is built once.
- `GOOD`: what `docker image inspect` gives for an image of the standard, and Dockerfiles
  that build a good and a bad one; the unit rules and the engine test share them.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest

from imgscaffold import cli

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "imgscaffold", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def run_cli_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """`imgscaffold ARGS` through the same `main` as the command, in this process: its exit
    code, stdout and stderr as `run_cli` gives them. An error that `main` does not turn
    into a line and an exit code escapes as the exception and fails the test."""
    stdout, stderr = io.StringIO(), io.StringIO()
    sigterm = signal.getsignal(signal.SIGTERM)
    code: int = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                cli.main(list(args))
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else int(done.code is not None)
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    return subprocess.CompletedProcess(
        ["imgscaffold", *args], code, stdout.getvalue(), stderr.getvalue()
    )


# Template versions and generated repositories.

GIT_IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.com")

_HEADER = """\
_subdirectory: template
_answers_file: .copier-answers.yml
_templates_suffix: .jinja
_envops:
  keep_trailing_newline: true

service_name:
  type: str
  default: "{{ _folder_name }}"

service_port:
  type: int
  default: 8080
"""

#: A small template: the mechanics of updates do not need the real one's 40 files.
MINI_V1: dict[str, str | None] = {
    "copier.yml": _HEADER
    + """
team_channel:
  type: str
  default: "#platform"
""",
    "template/{{_copier_conf.answers_file}}.jinja": (
        "# Changes here will be overwritten by Copier\n{{ _copier_answers|to_nice_yaml -}}\n"
    ),
    "template/README.md.jinja": (
        "# {{ service_name }}\n\nA service.\n\n## Running\n\n"
        "It listens on port {{ service_port }}.\n\n## Owners\n\nThe platform team.\n"
    ),
    "template/Dockerfile.jinja": (
        "FROM docker.io/library/python:3.12-slim\nEXPOSE {{ service_port }}\n"
        'CMD ["python", "-m", "app"]\n'
    ),
    "template/compose.yaml.jinja": "services:\n  {{ service_name }}:\n    build: .\n",
    "template/ci/build.sh": "#!/bin/sh\nset -eu\necho build\n",
    "template/CONTACT.md.jinja": "# Contact\n\nChannel: {{ team_channel }}\n",
}

#: v2 changes files, adds one, moves one, renames a question and adds a question.
MINI_V2: dict[str, str | None] = {
    "copier.yml": _HEADER
    + """
chat_channel:
  type: str
  help: The team's chat channel (called team_channel before v2.0.0).
  default: "{{ team_channel | default('#platform', true) }}"

log_level:
  type: str
  default: info
  choices: [debug, info, warning]

# Renamed to chat_channel in v2.0.0. Declared after it: copier drops a hidden
# question's old answer when it reaches the question.
team_channel:
  type: str
  when: false
  default: ""
""",
    "template/README.md.jinja": (
        "# {{ service_name }}\n\nA service.\n\n## Running\n\n"
        "It listens on port {{ service_port }}.\n\n## Owners\n\n"
        "The platform team (see docs/CONTACT.md).\n\n## Updates\n\nFrom the image template.\n"
    ),
    "template/Dockerfile.jinja": (
        "FROM docker.io/library/python:3.13-slim\nEXPOSE {{ service_port }}\n"
        'CMD ["python", "-m", "app"]\n'
    ),
    "template/ci/build.sh": "#!/bin/sh\nset -eu\necho building\n",
    "template/NEW.md.jinja": "Logs at level {{ log_level }} for {{ service_name }}.\n",
    "template/CONTACT.md.jinja": None,
    "template/docs/CONTACT.md.jinja": "# Contact\n\nChannel: {{ chat_channel }}\n",
}


@dataclass(frozen=True)
class Template:
    """A template repository with tags v1.0.0 and v2.0.0."""

    path: Path
    url: str


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "-m", message)


def write(root: Path, files: Mapping[str, str | None]) -> None:
    for name, content in files.items():
        path = root / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        if name.endswith(".sh"):
            path.chmod(0o755)


def _tagged(path: Path, *versions: Mapping[str, str | None]) -> Template:
    """A git repository at PATH whose Nth version is tagged v(N).0.0."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for number, files in enumerate(versions, start=1):
        write(path, files)
        commit_all(path, f"template v{number}")
        git(path, "tag", f"v{number}.0.0")
    # A file:// URL ending in .git: copier treats it as a remote, as it would https.
    return Template(path, f"file://{path}")


_built: dict[tuple[str, str], Template] = {}


def mini_template(factory: pytest.TempPathFactory) -> Template:
    """The small template at v1.0.0 and v2.0.0, built once per session."""
    key = ("mini", str(factory.getbasetemp()))
    if key not in _built:
        _built[key] = _tagged(factory.mktemp("mini") / "template.git", MINI_V1, MINI_V2)
    return _built[key]


def real_template(factory: pytest.TempPathFactory) -> Template:
    """This repository's template as v1.0.0, and v2.0.0 with a changed and a new file."""
    key = ("real", str(factory.getbasetemp()))
    if key not in _built:
        root = factory.mktemp("real") / "template.git"
        root.mkdir()
        shutil.copy2(REPO_ROOT / "copier.yml", root / "copier.yml")
        shutil.copytree(REPO_ROOT / "template", root / "template")
        readme = root / "template" / "README.md.jinja"
        # Others edit the template's files; change only what survives any such edit.
        changed = readme if readme.is_file() else root / "template" / "UPDATES.md"
        v2 = {
            str(changed.relative_to(root)): (
                changed.read_text(encoding="utf-8") if changed.is_file() else "Updates.\n"
            )
            + "\nThis line came with template v2.0.0.\n",
            "template/NEW.md.jinja": "New in template v2.0.0 for {{ service_name }}.\n",
        }
        v1 = {} if changed.is_file() else {str(changed.relative_to(root)): "Updates.\n"}
        _built[key] = _tagged(root, v1, v2)
    return _built[key]


def render(template: Template, dest: Path, ref: str = "v1.0.0", **answers: object) -> Path:
    """Render TEMPLATE at REF into DEST and commit it, as `imgscaffold new` would."""
    copier.run_copy(template.url, dest, data=dict(answers), defaults=True, vcs_ref=ref, quiet=True)
    git(dest, "init", "--quiet", "--initial-branch=main")
    commit_all(dest, f"Start from the template {ref}")
    return dest


def render_seeds(template: Template, root: Path, service_name: str) -> dict[str, Path]:
    """One repository rendered at each of v1.0.0 and v2.0.0, to copy from."""
    return {
        ref: render(template, root / ref / service_name, ref, service_name=service_name)
        for ref in ("v1.0.0", "v2.0.0")
    }


def copy_repo(seed: Path, dest: Path) -> Path:
    """A copy of a rendered repository, git history and all: cheaper than rendering again."""
    shutil.copytree(seed, dest, symlinks=True)
    return dest


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ROOT outside .git, with its content and executable bit."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == ".git" or path.is_dir():
            continue
        mode = b"x" if os.access(path, os.X_OK) else b"-"
        files[rel.as_posix()] = mode + path.read_bytes()
    return files


def status_lines(repo: Path) -> list[str]:
    return git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()


# An image of the standard, as `docker image inspect` shows it.

SHA = "0123456789abcdef0123456789abcdef01234567"
OCI = "org.opencontainers.image."
# The shape `docker image inspect` gives for an image of the standard (trimmed).
GOOD: dict[str, Any] = {
    "Id": "sha256:" + "1" * 64,
    "Config": {
        "User": "10001:10001",
        "Entrypoint": ["/usr/local/bin/docker-entrypoint.sh"],
        "Cmd": ["python", "/app/server.py"],
        "Volumes": {"/data": {}},
        "Healthcheck": {
            "Test": ["CMD", "/usr/local/bin/healthcheck"],
            "Interval": 10000000000,
            "Timeout": 3000000000,
            "StartPeriod": 15000000000,
            "Retries": 3,
        },
        "Labels": {
            OCI + "created": "2026-11-28T01:00:00Z",
            OCI + "revision": SHA,
            OCI + "version": "1.2.3",
            OCI + "source": "https://github.com/example/app",
            OCI + "url": "https://github.com/example/app",
            OCI + "title": "app",
            OCI + "description": "An app.",
            OCI + "licenses": "MIT",
            OCI + "vendor": "Example",
            OCI + "authors": "team@example.com",
            OCI + "documentation": "https://github.com/example/app#readme",
            OCI + "base.name": "docker.io/library/python:3.12.8-slim-bookworm",
            OCI + "base.digest": "sha256:" + "2" * 64,
        },
    },
}


GOOD_DOCKERFILE = f"""FROM {{base}}
RUN mkdir -p /data /usr/share/image-packages \\
 && dpkg-query --show > /usr/share/image-packages/os.txt \\
 && chown 10001:10001 /data
USER 10001:10001
VOLUME ["/data"]
HEALTHCHECK --interval=5s --timeout=2s --start-period=5s --retries=2 CMD ["true"]
ENTRYPOINT ["sleep"]
CMD ["infinity"]
LABEL {" ".join(f'{k}="{v}"' for k, v in GOOD["Config"]["Labels"].items())}
"""
BAD_DOCKERFILE = "FROM {base}\nCMD sleep infinity\n"
