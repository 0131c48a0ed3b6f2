"""Where `imgscaffold new` writes: the destination checked first, then filled all or nothing.

The template renders into a staging folder; only a complete render reaches DEST. An
existing folder is filled in place (the folder itself is never replaced, so a shell
standing in it keeps working), and a failure half-way puts DEST back as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from imgscaffold.errors import DestinationError


@dataclass(frozen=True)
class Destination:
    """A checked destination folder."""

    shown: Path
    """DEST as the user named it, made absolute (a symbolic link stays a link)."""
    path: Path
    """The folder the files go to: DEST with every symbolic link and '..' resolved."""
    existed: bool
    """Whether the folder existed before (then it is filled in place)."""
    had_content: bool
    """Whether it held files (allowed with --force only)."""

    @property
    def name(self) -> str:
        """The folder's own name, which the template derives defaults from."""
        return self.path.name or "repository"


def check_destination(given: Path, *, force: bool) -> Destination:
    """DEST resolved and checked, or a DestinationError that says what is wrong with it."""
    if not str(given).strip():
        raise DestinationError("the destination folder name is empty")
    try:
        shown = Path(os.path.abspath(given.expanduser()))
    except FileNotFoundError:
        raise DestinationError(
            "the current folder no longer exists; change to an existing folder and try again"
        ) from None
    if shown.is_symlink() and not shown.exists():
        target = os.readlink(shown)
        raise DestinationError(
            f"{shown} is a symbolic link to {target}, which does not exist; "
            "create that folder or remove the link"
        )
    path = shown.resolve()
    if path.exists() and not path.is_dir():
        raise DestinationError(f"{shown} exists and is not a folder")
    existed = path.is_dir()
    had_content = existed and any(path.iterdir())
    if had_content and not force:
        raise DestinationError(
            f"{shown} is not empty; choose a new folder, or pass --force to render into it"
        )
    anchor = path if existed else next((p for p in path.parents if p.exists()), None)
    if anchor is None or not anchor.is_dir():
        raise DestinationError(f"cannot create {shown}: {anchor} is not a folder")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise DestinationError(
            f"cannot write to {anchor}: permission denied"
            + ("" if anchor == path else f" (needed to create {shown})")
        )
    return Destination(shown=shown, path=path, existed=existed, had_content=had_content)


def rendered_files(root: Path) -> list[str]:
    """The files (and links) under ROOT as '/'-separated relative paths, without `.git`."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not (folder == str(root) and d == ".git"))
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            found.append(Path(folder, name).relative_to(root).as_posix())
    return sorted(found)


@dataclass(frozen=True)
class Placed:
    """What placing a render into DEST did to files that were there before."""

    replaced: list[str]
    """Files of DEST that the render overwrote (--force)."""


def place(staging: Path, dest: Destination) -> Placed:
    """Move the rendered tree from STAGING into DEST; on any failure leave DEST as it was."""
    if not dest.existed:
        _place_new(staging, dest.path)
        return Placed(replaced=[])
    if not dest.had_content:
        _move_entries(staging, dest.path)
        return Placed(replaced=[])
    return _overlay(staging, dest.path)


def _place_new(staging: Path, path: Path) -> None:
    created = [p for p in reversed(path.parents) if not p.exists()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), str(path))
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        for folder in reversed(created):
            with suppress(OSError):
                folder.rmdir()
        raise


def _move_entries(staging: Path, path: Path) -> None:
    """Fill the empty folder PATH with STAGING's entries, keeping PATH itself."""
    moved: list[Path] = []
    try:
        for entry in sorted(staging.iterdir()):
            target = path / entry.name
            shutil.move(str(entry), str(target))
            moved.append(target)
    except BaseException:
        for target in moved:
            _remove(target)
        raise


def _overlay(staging: Path, path: Path) -> Placed:
    """Copy the rendered files over PATH's, keeping a copy of each one replaced until done."""
    files = rendered_files(staging)
    replaced = [name for name in files if (path / name).exists() or (path / name).is_symlink()]
    folders = [
        name for name in replaced if (path / name).is_dir() and not (path / name).is_symlink()
    ]
    if folders:
        raise DestinationError(
            f"{path / folders[0]} is a folder where the template writes a file; "
            "move it away and try again"
        )
    created: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="imgscaffold-backup-") as backup:
        for name in replaced:
            (Path(backup) / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path / name, Path(backup) / name, follow_symlinks=False)
        try:
            for name in files:
                target = path / name
                for folder in reversed(target.parents):
                    if folder.is_relative_to(path) and not folder.exists():
                        folder.mkdir()
                        created.append(folder)
                if name in replaced:
                    target.unlink()
                else:
                    created.append(target)
                shutil.copy2(staging / name, target, follow_symlinks=False)
        except BaseException:
            for name in replaced:
                with suppress(OSError):
                    _remove(path / name)
                    shutil.copy2(Path(backup) / name, path / name, follow_symlinks=False)
            for created_path in reversed(created):
                _remove(created_path)
            raise
    return Placed(replaced=replaced)


def _remove(path: Path) -> None:
    # Best effort while undoing: the error that caused the undo is the one to report.
    with suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
