"""The errors imgscaffold raises; the CLI turns each into one line and an exit code."""

from __future__ import annotations

import os


class ImgscaffoldError(Exception):
    """Base of every error meant for the user: the message is the whole story."""

    exit_code = 1
    #: A stable name for the kind of problem, for machine-readable reports.
    kind = "error"


class UsageError(ImgscaffoldError):
    """The command was given something it cannot work with."""

    exit_code = 2


class DestinationError(UsageError):
    """The destination folder cannot take a new repository."""


class AnswerError(UsageError):
    """An answer to a template question is invalid or unknown."""

    kind = "answer"


class InputFileError(UsageError):
    """A data or preset file cannot be read or is not a mapping of answers."""


class TemplateSourceError(ImgscaffoldError):
    """The template cannot be found, fetched or rendered."""

    kind = "template-source"


class GitError(ImgscaffoldError):
    """A git command failed."""

    kind = "git"


class RepositoryError(ImgscaffoldError):
    """A repository cannot be updated or checked as it stands; the others still can."""

    kind = "repository"


class NotGeneratedError(RepositoryError):
    """The folder is not a git repository generated from a copier template."""

    kind = "not-generated"


class AnswersFileError(NotGeneratedError):
    """The repository's answers file is unreadable or lacks the template's source and version."""

    kind = "answers-file"


class DirtyTreeError(RepositoryError):
    """The working tree has changes that an update could mix with its own."""

    kind = "dirty-tree"


class UntrackedFilesError(DirtyTreeError):
    """The working tree has untracked files that an update could overwrite or leave behind."""

    kind = "untracked-files"


class InterruptedUpdateError(DirtyTreeError):
    """An earlier update stopped half-way (or left conflicts) and the tree still shows it."""

    kind = "interrupted-update"


class VersionError(RepositoryError):
    """The requested template version does not exist or is older than the repository's."""

    kind = "version"


class BranchExistsError(RepositoryError):
    """The branch that would take the update's commit exists already."""

    kind = "branch-exists"


class Aborted(ImgscaffoldError):
    """The user interrupted the command; nothing was written."""

    exit_code = 130


class CheckConfigError(UsageError):
    """The ignore file of `imgscaffold check` is invalid (e.g. an entry without a reason)."""

    kind = "check-config"


class DockerError(ImgscaffoldError):
    """The docker CLI is missing or a docker command failed."""

    # Not 1: for `imgscaffold check`, 1 means "findings", and a gate must tell them apart.
    exit_code = 3
    kind = "docker"


class RegistryError(ImgscaffoldError):
    """A registry could not be reached or read, or refused to be read."""

    # Like DockerError: an outside service failed, which is not a finding (1).
    exit_code = 3
    kind = "registry"


class FileSystemError(ImgscaffoldError):
    """The operating system refused a file operation: permission, space, a missing folder."""

    # EX_IOERR from sysexits.h: neither findings (1) nor a usage error (2).
    exit_code = 74
    kind = "file-system"


def from_os_error(error: OSError) -> FileSystemError:
    """One line for an OSError that no more specific handler turned into a message."""
    what = error.strerror or type(error).__name__
    if error.filename is None and isinstance(error, FileNotFoundError) and _cwd_is_gone():
        return FileSystemError(
            "the current folder no longer exists; change to an existing folder and try again"
        )
    if error.filename is None:
        return FileSystemError(what.rstrip(".").lower() if error.strerror else str(error))
    target = str(error.filename)
    if error.filename2 is not None:
        target += f" -> {error.filename2}"
    return FileSystemError(f"{target}: {what}")


def _cwd_is_gone() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return True
    return False
