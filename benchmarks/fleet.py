"""How fast a fleet update is: `imgscaffold update --jobs N` against a loop of `copier update`.

Run on demand: `python benchmarks/fleet.py [--repos 100] [--jobs N]`. The template is this
repository's, tagged v1.0.0, and v2.0.0 with one changed and one new file, served from a
`file://` URL (copier treats it as a remote, as it would the canonical https URL). Two
identical sets of repositories are rendered at v1.0.0; one is updated to v2.0.0 by a plain
sequential loop of `copier update` (what a script or Renovate runs, one repository at a
time), the other by one `imgscaffold update` run. Both results are checked to be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GIT = ("git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com")
ANSWERS = ("service_name=orders", "registry=localhost:5000")


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def _run(*command: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        command, cwd=cwd, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL
    )


def _template(into: Path) -> str:
    """This repository's template as v1.0.0, and as v2.0.0 with a changed and a new file."""
    into.mkdir()
    shutil.copy2(REPO_ROOT / "copier.yml", into / "copier.yml")
    shutil.copytree(REPO_ROOT / "template", into / "template")
    _run("git", "init", "--quiet", "--initial-branch=main", cwd=into)
    _run(*GIT, "add", "--all", cwd=into)
    _run(*GIT, "commit", "--quiet", "-m", "v1", cwd=into)
    _run("git", "tag", "v1.0.0", cwd=into)
    readme = into / "template" / "README.md.jinja"
    changed = readme if readme.is_file() else into / "template" / "UPDATES.md"
    old = changed.read_text(encoding="utf-8") if changed.is_file() else ""
    changed.write_text(old + "\nThis line came with template v2.0.0.\n", encoding="utf-8")
    (into / "template" / "NEW.md.jinja").write_text("New in v2.0.0 for {{ service_name }}.\n")
    _run(*GIT, "add", "--all", cwd=into)
    _run(*GIT, "commit", "--quiet", "-m", "v2", cwd=into)
    _run("git", "tag", "v2.0.0", cwd=into)
    return f"file://{into}"


def _seed(copier: str, url: str, into: Path, env: dict[str, str]) -> Path:
    data = [arg for answer in ANSWERS for arg in ("--data", answer)]
    _run(
        copier,
        "copy",
        "--quiet",
        "--defaults",
        "--vcs-ref",
        "v1.0.0",
        *data,
        url,
        str(into),
        env=env,
    )
    _run("git", "init", "--quiet", "--initial-branch=main", cwd=into)
    _run(*GIT, "add", "--all", cwd=into)
    _run(*GIT, "commit", "--quiet", "-m", "Start from the template v1.0.0", cwd=into)
    return into


def _copies(seed: Path, into: Path, count: int) -> list[Path]:
    into.mkdir()
    return [Path(shutil.copytree(seed, into / f"svc-{i:03d}", symlinks=True)) for i in range(count)]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repos", type=int, default=100, help="repositories per tool")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="imgscaffold update --jobs"
    )
    args = parser.parse_args()
    imgscaffold, copier = _tool("imgscaffold"), _tool("copier")

    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "COPIER_CACHE_DIR": str(work / "copier-cache")}
        url = _template(work / "template.git")
        seed = _seed(copier, url, work / "seed" / "orders", env)
        looped = _copies(seed, work / "copier", args.repos)
        fleet = _copies(seed, work / "imgscaffold", args.repos)

        # A plain sequential loop of `copier update`, as a script or Renovate runs it.
        loop_times = []
        loop_start = time.perf_counter()
        for repo in looped:
            start = time.perf_counter()
            _run(copier, "update", "--quiet", "--defaults", "--skip-answered",
                 "--vcs-ref", "v2.0.0", cwd=repo, env=env)  # fmt: skip
            loop_times.append(time.perf_counter() - start)
        loop_wall = time.perf_counter() - loop_start

        listing = work / "fleet.txt"
        listing.write_text("".join(f"{p}\n" for p in fleet))
        report_file = work / "report.json"
        fleet_start = time.perf_counter()
        done = subprocess.run(
            [imgscaffold, "update", "--from-file", str(listing), "--jobs", str(args.jobs),
             "--no-progress", "--json", str(report_file)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        fleet_wall = time.perf_counter() - fleet_start
        report = json.loads(report_file.read_text())
        outcomes = report["summary"]
        if done.returncode != 0 or outcomes.get("updated") != args.repos:
            sys.exit(f"imgscaffold update did not update every repository: {outcomes}")
        worker_times = [r["seconds"] for r in report["repositories"]]
        if _tree(looped[0]) != _tree(fleet[0]):
            sys.exit("copier update and imgscaffold update gave different results")

    loop_median = statistics.median(loop_times)
    fleet_per_repo = fleet_wall / args.repos
    loop_per_repo = loop_wall / args.repos
    print(f"{args.repos} repositories, v1.0.0 -> v2.0.0, {os.cpu_count()} CPUs")
    print(f"{'':<48}{'copier loop':>14}{'imgscaffold':>14}")
    print(f"{'jobs':<48}{1:>14}{args.jobs:>14}")
    print(f"{'wall time, all repositories (s)':<48}{loop_wall:>14.1f}{fleet_wall:>14.1f}")
    print(f"{'wall time per repository (s)':<48}{loop_per_repo:>14.3f}{fleet_per_repo:>14.3f}")
    print(
        f"{'median time of one repository (s)':<48}{loop_median:>14.3f}"
        f"{statistics.median(worker_times):>14.3f}"
    )
    print(f"{'ratio copier loop / imgscaffold (wall time)':<48}{loop_wall / fleet_wall:>14.2f}")


if __name__ == "__main__":
    main()
