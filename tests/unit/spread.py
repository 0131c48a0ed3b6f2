"""The spread of answers that tests/unit/test_rendered_files.py checks, rendered once per
session, and shellcheck's verdicts on its scripts.

Rendering the 36 variants and running shellcheck on their distinct scripts is most of that
module's cost, and nearly all of it runs in child processes. So when a session collects
that module, `start` begins the work in a child process at once, on the core the rest of
the suite leaves idle, and the module's fixtures `wait` for it. Run alone,
`python -m tests.unit.spread DIR` does the same work into DIR.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import create_repository
from imgscaffold.template import choices
from tests.helpers import REPO_ROOT

SPREAD = {
    "defaults": {},
    "custom": {
        "service_name": "a.b_c-d9",
        "organisation": "Globex Corporation (EMEA)",
        "registry": "localhost:5000",
        "image_repository": "team/sub/a.b_c-d9",
        "service_port": "9090",
        "health_path": "/status/live",
        "data_dir": "/var/lib/orders",
        "license": "LicenseRef-Proprietary",
        "description": "Keeps orders, (mostly) safe: 100% of them!",
    },
    # Real-world text that each file must quote for its own syntax.
    "quoted": {
        "service_name": "null",
        "description": 'Bob\'s "orders" & $HOME \\ `x`; <b>*fast*</b> €-prices # Zoë',
        "organisation": "Müller & Söhne GmbH",
        "maintainer_name": "Zoë O'Brien",
        "maintainer_email": "zoe.o'brien@example.com",
        "registry": "[::1]:5000",
        "repository_url": "git@github.com:platform/orders.git",
        "health_path": "/health/ready?probe=docker&x='1'",
        "data_dir": "/srv/my data",
        "license": "apache-2.0 with llvm-exception",
    },
}
VARIANTS = {
    f"{name}-{stack}-{ci}": {**answers, "stack": stack, "ci_provider": ci}
    for name, answers in SPREAD.items()
    for stack in choices("stack")
    for ci in choices("ci_provider")
}
VERDICTS_FILE = "shellcheck.json"
_SOURCED = re.compile(r"^\s*# shellcheck source=(\S+)", re.M)
_WAIT_S = 900


def tool(name: str) -> str:
    """A linter installed with the test extras (next to this Python) or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is missing: install the test extras (pip install -e '.[test]')"
    return found


def shell_scripts(repo: Path) -> list[Path]:
    scripts = []
    for path in sorted(repo.rglob("*")):
        if ".git" in path.parts or not path.is_file():
            continue
        head = path.read_bytes()[:64]
        if path.suffix == ".sh" or head.startswith(
            (b"#!/bin/sh", b"#!/bin/bash", b"#!/usr/bin/env bash", b"#!/usr/bin/env sh")
        ):
            scripts.append(path)
    return scripts


@dataclass
class Renders:
    """Each variant rendered once, into ROOT/VARIANT, when first asked for."""

    root: Path
    done: dict[str, Path] = field(default_factory=dict)

    def get(self, variant: str) -> Path:
        if variant not in self.done:
            dest = self.root / variant
            self.done[variant] = create_repository(
                dest, layers=AnswerLayers(cli=VARIANTS[variant])
            ).path
        return self.done[variant]

    def all(self) -> Iterator[Path]:
        return (self.get(variant) for variant in sorted(VARIANTS))


def script_key(repo: Path, script: Path) -> str:
    """What shellcheck's verdict on SCRIPT depends on: its path, its text and the files it
    sources (followed with --external-sources), so equal keys get the same verdict."""
    text = script.read_bytes()
    digest = hashlib.sha256(script.relative_to(repo).as_posix().encode() + b"\0" + text)
    for sourced in _SOURCED.findall(text.decode(errors="replace")):
        path = repo / sourced
        digest.update(b"\0" + sourced.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def shellcheck_verdicts(repos: Iterable[Path]) -> dict[str, str]:
    """shellcheck's findings ("" when none) for every distinct script of REPOS.

    Most scripts render the same in many variants; each distinct one (with what it
    sources) is checked once, in the first repository that has it.
    """
    batches: dict[Path, list[tuple[str, Path]]] = {}
    seen: set[str] = set()
    for repo in repos:
        for script in shell_scripts(repo):
            key = script_key(repo, script)
            if key not in seen:
                seen.add(key)
                batches.setdefault(repo, []).append((key, script))

    def check(repo: Path, scripts: list[tuple[str, Path]]) -> dict[str, str]:
        command = [tool("shellcheck"), "--external-sources", "--format=json1"]
        done = subprocess.run(
            [*command, *(str(path) for _, path in scripts)],
            cwd=repo, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        comments = json.loads(done.stdout or "{}").get("comments", [])
        # shellcheck names a file as it was given, or a sourced one relative to REPO.
        checked = {path.resolve() for _, path in scripts}
        elsewhere = [c for c in comments if (repo / c["file"]).resolve() not in checked]
        assert not elsewhere, f"shellcheck in {repo} about files not checked: {elsewhere}"
        verdicts = {}
        for key, path in scripts:
            found = [c for c in comments if (repo / c["file"]).resolve() == path.resolve()]
            verdicts[key] = "\n".join(
                f"{path.relative_to(repo)}:{c['line']}: SC{c['code']} {c['message']}" for c in found
            )
        return verdicts

    verdicts: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for result in pool.map(lambda item: check(*item), batches.items()):
            verdicts.update(result)
    return verdicts


def prepare(root: Path) -> None:
    """Render every variant into ROOT and write shellcheck's verdicts to ROOT/VERDICTS_FILE."""
    verdicts = shellcheck_verdicts(Renders(root).all())
    (root / VERDICTS_FILE).write_text(json.dumps(verdicts))


@dataclass
class Prepared:
    """The spread rendered under ROOT by a child process, for the fixtures to wait for."""

    root: Path
    child: subprocess.Popen[bytes]

    def wait(self) -> tuple[Renders, dict[str, str]]:
        """The renders and the verdicts, once the child is done; its log if it failed."""
        code = self.child.wait(timeout=_WAIT_S)
        log = (self.root / "prepare.log").read_text(errors="replace")
        assert code == 0, f"rendering the spread failed (exit code {code}):\n{log}"
        renders = Renders(self.root, {variant: self.root / variant for variant in VARIANTS})
        verdicts = json.loads((self.root / VERDICTS_FILE).read_text())
        return renders, verdicts

    def stop(self) -> None:
        """End the child if it still runs, and remove what it wrote."""
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Prepared:
    """Begin rendering the spread and running shellcheck on it, in a child process."""
    root = Path(tempfile.mkdtemp(prefix="imgscaffold-spread-"))
    with (root / "prepare.log").open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.unit.spread", str(root)],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Prepared(root, child)


if __name__ == "__main__":
    prepare(Path(sys.argv[1]))
