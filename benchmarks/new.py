"""How fast `imgscaffold new` is, next to plain `copier copy` of the same template.

Run on demand: `python benchmarks/new.py [--runs N]`. Both tools run in one session,
alternating, so machine noise hits them alike; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def _median_of(runs: int, make: Callable[[int], list[str]]) -> float:
    return statistics.median(_timed(make(i)) for i in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="runs per command (median taken)")
    args = parser.parse_args()
    imgscaffold, copier = _tool("imgscaffold"), _tool("copier")

    with tempfile.TemporaryDirectory(prefix="bench-new-") as tmp:
        work = Path(tmp)
        source = work / "template.git"
        subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(source)], check=True)
        new_times: list[float] = []
        copy_times: list[float] = []
        for i in range(args.runs):
            new_times.append(
                _timed([imgscaffold, "new", str(work / f"new{i}" / "demo"), "--defaults"])
            )
            copy_times.append(
                _timed(
                    [
                        copier,
                        "copy",
                        "--quiet",
                        "--defaults",
                        "--vcs-ref",
                        "HEAD",
                        str(source),
                        str(work / f"copy{i}" / "demo"),
                    ]
                )
            )
        help_time = _median_of(args.runs, lambda _: [imgscaffold, "--help"])
        copier_help = _median_of(args.runs, lambda _: [copier, "--help"])
        python_start = _median_of(args.runs, lambda _: [sys.executable, "-c", "pass"])

    new_median, copy_median = statistics.median(new_times), statistics.median(copy_times)
    print(f"runs per command: {args.runs} (medians, seconds)")
    print(f"{'command':<58}{'median s':>10}")
    print(f"{'imgscaffold new DEST --defaults (embedded, + git commit)':<58}{new_median:>10.3f}")
    print(f"{'copier copy --defaults --vcs-ref HEAD GIT_REPO DEST':<58}{copy_median:>10.3f}")
    print(f"{'ratio imgscaffold new / copier copy':<58}{new_median / copy_median:>10.2f}")
    print(f"{'imgscaffold --help':<58}{help_time:>10.3f}")
    print(f"{'copier --help':<58}{copier_help:>10.3f}")
    print(f"{'python -c pass (interpreter start)':<58}{python_start:>10.3f}")
    print(f"{'ratio imgscaffold --help / copier --help':<58}{help_time / copier_help:>10.2f}")


if __name__ == "__main__":
    main()
