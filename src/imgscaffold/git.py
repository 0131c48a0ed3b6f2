"""The few git operations imgscaffold needs, with errors the user can act on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from imgscaffold.errors import GitError

_TIMEOUT_S = 120


def run(repo: Path, *args: str, env_identity: tuple[str, str] | None = None) -> str:
    """Run `git ARGS` in REPO and return its standard output."""
    if shutil.which("git") is None:
        raise GitError("git is not installed; install git and try again")
    command = ["git"]
    if env_identity is not None:
        name, email = env_identity
        command += ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    command += list(args)
    try:
        done = subprocess.run(
            command, cwd=repo, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} took longer than {_TIMEOUT_S} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise GitError(f"git {' '.join(args)} failed: {detail[-1] if detail else 'no output'}")
    return done.stdout


def has_identity(repo: Path) -> bool:
    """Whether git knows who commits here (user.name and user.email)."""
    try:
        return bool(run(repo, "config", "user.name").strip()) and bool(
            run(repo, "config", "user.email").strip()
        )
    except GitError:
        return False


def commit_all(repo: Path, message: str, fallback_identity: tuple[str, str]) -> str:
    """Commit everything in REPO (making it a repository first if needed); return the SHA."""
    _init(repo)
    run(repo, "add", "--all")
    identity = None if has_identity(repo) else fallback_identity
    run(repo, "commit", "--quiet", "--no-verify", "-m", message, env_identity=identity)
    return run(repo, "rev-parse", "HEAD").strip()


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
        env_identity=identity,
    )
    return run(repo, "rev-parse", "HEAD").strip()


def untracked(repo: Path) -> list[str]:
    """Files git does not track in REPO, ignored ones included, as relative paths."""
    listed = run(repo, "ls-files", "-z", "--others", "--exclude-standard")
    ignored = run(repo, "ls-files", "-z", "--others", "--ignored", "--exclude-standard")
    return sorted({p for p in (listed + ignored).split("\0") if p})


def _init(repo: Path) -> None:
    if not (repo / ".git").exists():
        run(repo, "init", "--quiet", "--initial-branch=main")
