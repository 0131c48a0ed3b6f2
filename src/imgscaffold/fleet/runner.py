"""Many repositories at once: finding them, and running one task per repository in parallel.

Each repository's task runs in a worker process of its own (spawned, so copier's global
state and working directory never leak between repositories). A task returns a result for
every problem; a worker that dies costs only the repositories it was working on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from imgscaffold import __version__
from imgscaffold.errors import InputFileError, UsageError
from imgscaffold.fleet.mirror import fetch_sources
from imgscaffold.generated import read_answers
from imgscaffold.rendering import ANSWERS_FILE, SOURCE_KEY

R = TypeVar("R")

#: Folders never searched by --scan: they hold no generated repositories worth updating.
_SKIPPED_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"})


def collect(
    paths: Sequence[Path], *, from_file: Path | None = None, scan: Path | None = None
) -> list[Path]:
    """The repositories named on the command line, listed in FROM_FILE and found under SCAN."""
    found: list[Path] = list(paths)
    if from_file is not None:
        found += listed_in(from_file)
    if scan is not None:
        found += _scan(scan)
    if not found and from_file is None and scan is None:
        found = [Path(".")]
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.expanduser().absolute(), path)
    if not unique:
        where = " and ".join(
            f"{what} {p}" for what, p in (("in", from_file), ("under", scan)) if p is not None
        )
        raise UsageError(f"no repositories found {where}")
    return list(unique.values())


def listed_in(list_file: Path) -> list[Path]:
    """Paths from a file, one a line; blank lines and `#` comments skipped; relative to it."""
    try:
        text = list_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"repository list {list_file} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"cannot read repository list {list_file}: {error}") from None
    base = list_file.parent
    listed = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        path = Path(entry).expanduser()
        listed.append(path if path.is_absolute() else base / path)
    return listed


def _scan(root: Path) -> list[Path]:
    """Every folder under ROOT that holds an answers file; their subfolders are not searched."""
    if not root.is_dir():
        raise InputFileError(f"--scan {root}: not a folder")
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        if ANSWERS_FILE in files:
            found.append(Path(folder))
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
    return sorted(found)


def sources_of(paths: Iterable[Path]) -> list[str]:
    """The distinct template sources the repositories' answers files name, in order."""
    sources: dict[str, None] = {}
    for path in paths:
        try:
            source = read_answers(path).get(SOURCE_KEY)
        except Exception:  # the repository's own task reports the problem
            continue
        if isinstance(source, str) and source:
            sources.setdefault(source)
    return list(sources)


def run_with_templates(
    task: Callable[..., R],
    paths: Sequence[Path],
    *,
    purpose: str,
    jobs: int | None,
    crashed: Callable[[str, str], R],
    on_done: Callable[[R], None] | None = None,
) -> tuple[list[R], bool]:
    """Run TASK(path, templates=...) over PATHS with every template source fetched once.

    The templates the repositories name are mirrored into a temporary folder (named for
    PURPOSE) that lives as long as the run; the rest is `run_all`.
    """
    with tempfile.TemporaryDirectory(prefix=f"imgscaffold-{purpose}-") as workdir:
        templates = fetch_sources(sources_of(paths), Path(workdir))
        bound = partial(task, templates=templates)
        return run_all(bound, [str(p) for p in paths], jobs=jobs, crashed=crashed, on_done=on_done)


def default_jobs(count: int) -> int:
    """As many workers as processors, never more than repositories."""
    return max(1, min(os.cpu_count() or 1, count))


def run_all(
    task: Callable[[str], R],
    paths: Sequence[str],
    *,
    jobs: int | None,
    crashed: Callable[[str, str], R],
    on_done: Callable[[R], None] | None = None,
) -> tuple[list[R], bool]:
    """Run TASK for every path, JOBS at a time; return the results in PATHS order.

    The second value says whether the user interrupted the run; the repositories whose
    task had started are finished first, the others are left as they were.
    """
    workers = default_jobs(len(paths)) if jobs is None else max(1, jobs)
    done: dict[str, R] = {}

    def record(path: str, result: R) -> None:
        done[path] = result
        if on_done is not None:
            on_done(result)

    if workers == 1 or len(paths) == 1:
        interrupted = _run_here(task, paths, record, crashed)
    else:
        interrupted = _run_in_pool(task, paths, workers, record, crashed)
    return [done[p] for p in paths if p in done], interrupted


def _run_here(
    task: Callable[[str], R],
    paths: Sequence[str],
    record: Callable[[str, R], None],
    crashed: Callable[[str, str], R],
) -> bool:
    with _deferred_interrupt() as stop_requested:
        for path in paths:
            if stop_requested():
                return True
            try:
                result = task(path)
            except KeyboardInterrupt:
                record(path, crashed(path, "interrupted"))
                return True
            record(path, result)
        return stop_requested()


@contextmanager
def _deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """The first Ctrl-C lets the repository in progress finish; a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    requested = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal requested
        if requested:
            raise KeyboardInterrupt
        requested = True
        sys.stderr.write(
            "imgscaffold: stopping after the repository in progress (Ctrl-C again to stop now)\n"
        )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: requested
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_in_pool(
    task: Callable[[str], R],
    paths: Sequence[str],
    workers: int,
    record: Callable[[str, R], None],
    crashed: Callable[[str, str], R],
) -> bool:
    context = multiprocessing.get_context("spawn")
    broken: list[str] = []
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_ignore_interrupts
    )
    futures: dict[Future[R], str] = {pool.submit(task, path): path for path in paths}
    try:
        for future in as_completed(futures):
            path = futures[future]
            try:
                record(path, future.result())
            except BrokenProcessPool:
                broken.append(path)
            except Exception as error:  # one repository, not the run
                record(path, crashed(path, f"{type(error).__name__}: {error}"))
    except KeyboardInterrupt:
        _finish_started(futures, record, crashed)
        pool.shutdown(wait=True, cancel_futures=True)
        return True
    pool.shutdown(wait=True)
    if broken:
        # A worker that dies breaks the pool for every repository it had not finished.
        # Those run again, each in a process of its own, so a crash costs only its own
        # repository; one that was half-way then reports the interrupted update.
        return _run_isolated(task, [p for p in paths if p in set(broken)], workers, record, crashed)
    return False


def _run_isolated(
    task: Callable[[str], R],
    paths: Sequence[str],
    workers: int,
    record: Callable[[str, R], None],
    crashed: Callable[[str, str], R],
) -> bool:
    context = multiprocessing.get_context("spawn")

    def alone(path: str) -> R:
        with ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_ignore_interrupts
        ) as single:
            try:
                return single.submit(task, path).result()
            except BrokenProcessPool:
                return crashed(path, "its worker process died")
            except Exception as error:  # one repository, not the run
                return crashed(path, f"{type(error).__name__}: {error}")

    with ThreadPoolExecutor(max_workers=workers) as threads:
        try:
            for path, result in zip(paths, threads.map(alone, paths), strict=True):
                record(path, result)
        except KeyboardInterrupt:
            return True
    return False


def _finish_started(
    futures: dict[Future[R], str],
    record: Callable[[str, R], None],
    crashed: Callable[[str, str], R],
) -> None:
    """After Ctrl-C: drop what has not started, wait for what has (workers ignore SIGINT)."""
    for future in futures:
        future.cancel()
    for future, path in futures.items():
        if future.cancelled():
            continue
        try:
            record(path, future.result())
        except KeyboardInterrupt:
            record(path, crashed(path, "interrupted"))
        except Exception as error:  # one repository, not the run
            record(path, crashed(path, f"{type(error).__name__}: {error}"))


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the parent decides, workers finish their repository.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def report_json(command: str, results: list[dict[str, Any]], interrupted: bool) -> dict[str, Any]:
    """The machine-readable report of a fleet command."""
    counts: dict[str, int] = {}
    for result in results:
        key = str(result.get("outcome") or result.get("state"))
        counts[key] = counts.get(key, 0) + 1
    return {
        "tool": "imgscaffold",
        "version": __version__,
        "command": command,
        "interrupted": interrupted,
        "summary": {"total": len(results), **dict(sorted(counts.items()))},
        "repositories": results,
    }
