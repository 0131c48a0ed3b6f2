"""The errors imgscaffold raises; the CLI turns each into one line and an exit code."""

from __future__ import annotations


class ImgscaffoldError(Exception):
    """Base of every error meant for the user: the message is the whole story."""

    exit_code = 1


class UsageError(ImgscaffoldError):
    """The command was given something it cannot work with."""

    exit_code = 2


class DestinationError(UsageError):
    """The destination folder cannot take a new repository."""


class AnswerError(UsageError):
    """An answer to a template question is invalid or unknown."""


class InputFileError(UsageError):
    """A data or preset file cannot be read or is not a mapping of answers."""


class TemplateSourceError(ImgscaffoldError):
    """The template cannot be found, fetched or rendered."""


class GitError(ImgscaffoldError):
    """A git command failed."""


class Aborted(ImgscaffoldError):
    """The user interrupted the command; nothing was written."""

    exit_code = 130
