"""Every git command imgscaffold runs: one timeout policy, one error type, one wording.

`call` runs git and returns what it did; `run` also wants it to succeed and returns its
output. Both raise GitError, worded "git ARGS failed in WHERE: LAST LINE", when git cannot
be started, takes longer than its timeout or (with `check`) exits non-zero. Callers that
give a failure a meaning of their own (a template that cannot be reached, a version that
does not exist) catch GitError or look at the return code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from imgscaffold.errors import GitError

#: Local commands: status, commit, archive of a mirror.
TIMEOUT_S = 120
#: Commands that reach another host: a clone of a template.
NETWORK_TIMEOUT_S = 300
#: Reading configuration for a default answer must never hold the user up.
CONFIG_TIMEOUT_S = 5


def call(
    where: Path | None,
    *args: str,
    git_dir: Path | None = None,
    identity: tuple[str, str] | None = None,
    timeout: float = TIMEOUT_S,
    check: bool = False,
    binary: bool = False,
) -> subprocess.CompletedProcess[Any]:
    """Run `git ARGS` in WHERE (or on the bare repository GIT_DIR), never prompting.

    IDENTITY (name, email) commits as someone when git knows nobody. With CHECK, a
    non-zero exit raises GitError.
    """
    if shutil.which("git") is None:
        raise GitError("git is not installed; install git and try again")
    command = ["git"]
    if git_dir is not None:
        command += ["--git-dir", str(git_dir)]
    if identity is not None:
        name, email = identity
        command += ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    command += args
    place = _place(where, git_dir)
    shown = " ".join(args)
    try:
        done = subprocess.run(
            command,
            cwd=where,
            capture_output=True,
            text=not binary,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {shown}{place} took longer than {timeout:g} s") from None
    except OSError as error:
        raise GitError(f"cannot run git{place}: {error}") from None
    if check and done.returncode != 0:
        raise GitError(f"git {shown} failed{place}: {last_line(done.stderr, done.stdout)}")
    return done


def run(
    where: Path | None,
    *args: str,
    git_dir: Path | None = None,
    identity: tuple[str, str] | None = None,
    timeout: float = TIMEOUT_S,
) -> str:
    """Run `git ARGS` in WHERE, which must succeed, and return its standard output."""
    done = call(where, *args, git_dir=git_dir, identity=identity, timeout=timeout, check=True)
    return str(done.stdout)


def succeeds(where: Path | None, *args: str, git_dir: Path | None = None) -> bool:
    """Whether `git ARGS` exits 0 (a question git answers with its exit code)."""
    return call(where, *args, git_dir=git_dir).returncode == 0


def show(where: Path | None, rev: str, name: str, *, git_dir: Path | None = None) -> bytes | None:
    """The content of NAME at REV, or None if it has none there."""
    done = call(where, "show", f"{rev}:{name}", git_dir=git_dir, binary=True)
    return bytes(done.stdout) if done.returncode == 0 else None


def config(key: str) -> str:
    """The user's git setting KEY, or "" if it is unset or git cannot say (never raises)."""
    try:
        done = call(None, "config", "--get", key, timeout=CONFIG_TIMEOUT_S)
    except GitError:
        return ""
    return str(done.stdout).strip() if done.returncode == 0 else ""


def is_branch_name(name: str) -> bool:
    """Whether git would take NAME for a new branch."""
    return not name.startswith("-") and succeeds(None, "check-ref-format", "--branch", name)


def has_identity(repo: Path) -> bool:
    """Whether git knows who commits here (user.name and user.email)."""
    name = call(repo, "config", "user.name")
    email = call(repo, "config", "user.email")
    return bool(str(name.stdout).strip()) and bool(str(email.stdout).strip())


def head(repo: Path) -> str:
    """The commit checked out."""
    return run(repo, "rev-parse", "HEAD").strip()


def commit_all(repo: Path, message: str, fallback_identity: tuple[str, str]) -> str:
    """Commit everything in REPO (making it a repository first if needed); return the SHA."""
    _init(repo)
    run(repo, "add", "--all")
    identity = None if has_identity(repo) else fallback_identity
    run(repo, "commit", "--quiet", "--no-verify", "-m", message, identity=identity)
    return head(repo)


def commit_paths(
    repo: Path, paths: list[str], message: str, fallback_identity: tuple[str, str]
) -> str:
    """Commit exactly PATHS in REPO (nothing else staged or lying there); return the SHA."""
    _init(repo)
    run(repo, "add", "--force", "--", *paths)
    identity = None if has_identity(repo) else fallback_identity
    run(
        repo,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        message,
        "--only",
        "--",
        *paths,
        identity=identity,
    )
    return head(repo)


def untracked(repo: Path) -> list[str]:
    """Files git does not track in REPO, ignored ones included, as relative paths."""
    listed = run(repo, "ls-files", "-z", "--others", "--exclude-standard")
    ignored = run(repo, "ls-files", "-z", "--others", "--ignored", "--exclude-standard")
    return sorted({p for p in (listed + ignored).split("\0") if p})


def last_line(*outputs: str | bytes) -> str:
    """The last non-blank line of the first output that has one: what git said went wrong."""
    for output in outputs:
        text = output.decode(errors="replace") if isinstance(output, bytes) else output
        lines = [line for line in text.strip().splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
    return "no output"


def _init(repo: Path) -> None:
    if not (repo / ".git").exists():
        run(repo, "init", "--quiet", "--initial-branch=main")


def _place(where: Path | None, git_dir: Path | None) -> str:
    if git_dir is not None:
        return f" in {git_dir}"
    return f" in {where}" if where is not None else ""
