"""`imgscaffold check` over 100 repositories, side by side with hadolint over the same Dockerfiles.

Run on demand: `python benchmarks/check.py [--repos 100] [--runs 3]`. It builds a fleet
in a temporary folder from copies of tests/check_corpus (real-world shapes) and of freshly
rendered repositories (every stack and CI provider), then times, as a user would run
them from a shell:

- `imgscaffold check --no-hadolint` over all repositories in one run (our rules only);
- `hadolint` over every Dockerfile of the same repositories in one run;
- `imgscaffold check` with hadolint included (what a user gets by default);
- `imgscaffold check` on one rendered repository.

It prints the median of --runs runs of each, and the ratio of the first two.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT / "tests" / "check_corpus"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        sys.exit(f"benchmarks/check.py: {name} is not installed")
    return found


def render_all(folder: Path) -> list[Path]:
    from ruamel.yaml import YAML

    from imgscaffold.answers import AnswerLayers
    from imgscaffold.create import create_repository

    questions = YAML(typ="safe").load((REPO_ROOT / "copier.yml").read_text())
    rendered = []
    for stack in questions["stack"]["choices"].values():
        for provider in questions["ci_provider"]["choices"].values():
            dest = folder / f"rendered-{stack}-{provider}"
            try:
                create_repository(
                    dest, layers=AnswerLayers(cli={"stack": stack, "ci_provider": provider})
                )
            except Exception as error:  # a stack still being built must not stop the benchmark
                print(f"skipping {stack}/{provider}: {error}", file=sys.stderr)
                continue
            rendered.append(dest)
    return rendered


def build_fleet(folder: Path, count: int) -> list[Path]:
    sources = [p for p in sorted(CORPUS.iterdir()) if p.is_dir()] + render_all(folder / "_rendered")
    fleet = []
    for number in range(count):
        source = sources[number % len(sources)]
        dest = folder / f"{number:03d}-{source.name}"
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".git", "expected.json"))
        fleet.append(dest)
    return fleet


def timed(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False, timeout=900)
        times.append(time.perf_counter() - start)
        if done.returncode not in {0, 1}:
            sys.exit(f"{command[0]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT / "src"))
    from imgscaffold.check.repository import is_dockerfile_name

    imgscaffold, hadolint = tool("imgscaffold"), tool("hadolint")
    with tempfile.TemporaryDirectory(prefix="imgscaffold-check-bench-") as tmp:
        fleet = build_fleet(Path(tmp), options.repos)
        dockerfiles = [
            str(p)
            for repo in fleet
            for p in repo.rglob("*")
            if p.is_file() and is_dockerfile_name(p.name)
        ]
        paths = [str(p) for p in fleet]
        ours = timed(
            [imgscaffold, "check", "--no-hadolint", "--format", "json", *paths], options.runs
        )
        theirs = timed([hadolint, "--no-fail", "--format", "json", *dockerfiles], options.runs)
        both = timed([imgscaffold, "check", "--format", "json", *paths], options.runs)
        rendered = next(p for p in fleet if "rendered-python" in p.name)
        one = timed([imgscaffold, "check", "--no-hadolint", str(rendered)], options.runs)
        one_with = timed([imgscaffold, "check", str(rendered)], options.runs)
    print(
        f"fleet: {len(fleet)} repositories, {len(dockerfiles)} Dockerfiles; median of "
        f"{options.runs} "
        f"runs"
    )
    print(f"imgscaffold check --no-hadolint, all repositories: {ours:7.2f} s")
    print(f"hadolint, all Dockerfiles:                        {theirs:7.2f} s")
    print(f"ratio imgscaffold / hadolint:                     {ours / theirs:7.2f}")
    print(f"imgscaffold check with hadolint, all repositories: {both:6.2f} s")
    print(
        f"imgscaffold check, one rendered repository:       {one:7.2f} s ({one_with:.2f} s with "
        f"hadolint)"
    )


if __name__ == "__main__":
    main()
