"""What a rule is, what it finds, where its practice is explained, and the rules registered."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from imgscaffold import gates

if TYPE_CHECKING:
    from imgscaffold.check.repository import Repository

__all__ = [
    "GUIDE_URL",
    "OCI_LABEL_KEYS",
    "SLUGS",
    "Finding",
    "Rule",
    "Severity",
    "registered",
]

#: The docs site's guide: one page per checklist row.
GUIDE_URL = "https://imgscaffold.github.io/imgscaffold/guide/{slug}/"

SLUGS = {
    1: "01-dockerfile-practice",
    2: "02-one-service",
    3: "03-configuration",
    4: "04-one-image",
    5: "05-logs",
    6: "06-unique-tags",
    7: "07-latest",
    8: "08-repeatable-builds",
    9: "09-no-runtime-downloads",
    10: "10-git-and-commit",
    11: "11-labels",
    12: "12-healthcheck",
    13: "13-tests",
    14: "14-volumes",
    15: "15-automated-builds",
}

#: The OCI annotation keys (after `org.opencontainers.image.`) every image must label.
OCI_LABEL_KEYS = (
    "created",
    "revision",
    "version",
    "source",
    "url",
    "title",
    "description",
    "licenses",
    "vendor",
    "authors",
    "documentation",
    "base.name",
    "base.digest",
)


class Severity(enum.IntEnum):
    """How much a finding matters; the order is what `--fail-on` compares."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """The severity named by `text` (error, warning, info)."""
        return cls[text.strip().upper()]

    @classmethod
    def threshold(cls, fail_on: str) -> Severity | None:
        """The lowest severity that fails, from a `--fail-on` list; None for `none`."""
        names = gates.parse(fail_on, [str(s) for s in sorted(cls, reverse=True)])
        return min((cls.parse(name) for name in names), default=None)


@dataclass(frozen=True)
class Finding:
    """One place where a rule does not hold."""

    rule: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    #: Where the finding comes from: "imgscaffold" or an outside linter such as "hadolint".
    source: str = "imgscaffold"
    title: str = ""
    fix: str = ""
    url: str = ""
    #: The reason from the ignore file when the finding is ignored there.
    ignored: str | None = None

    @property
    def location(self) -> str:
        """`path:line`, `path` or an empty string."""
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path


class Rule:
    """A rule: a repo-review check whose failures carry file, line, severity and fix.

    The ID is `IMG` and three digits: the last two are the checklist row, the first is the
    rule's number within that row (0-4 for rules on the repository's files, 5-9 for rules
    on a built image). So IMG012 is the first healthcheck rule and IMG112 the second.
    """

    id: ClassVar[str]
    row: ClassVar[int]
    family: ClassVar[str]
    severity: ClassVar[Severity]
    fix: ClassVar[str]
    requires: ClassVar[frozenset[str]] = frozenset()
    #: What the rule reads: "repository" (its files), "image" (`docker image inspect`) or
    #: "registry" (what a registry holds beside a pushed image). `registered` keeps them apart.
    reads: ClassVar[str] = "repository"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Register every class that names its own rule ID; base classes name none."""
        super().__init_subclass__(**kwargs)
        if "id" in cls.__dict__:
            _REGISTERED.append(cls)

    @classmethod
    def order(cls) -> tuple[int, str]:
        """Where the rule runs and is listed among those that read the same: row, then ID."""
        return (cls.row, cls.id)

    @property
    def url(self) -> str:
        """The guide page of the rule's checklist row."""
        return GUIDE_URL.format(slug=SLUGS[self.row])

    @classmethod
    def title(cls) -> str:
        """The first line of the docstring."""
        return (cls.__doc__ or cls.id).strip().splitlines()[0]

    def finding(self, message: str, path: str | None = None, line: int | None = None) -> Finding:
        """A finding of this rule at a place."""
        return Finding(
            rule=self.id,
            severity=self.severity,
            message=message,
            path=path,
            line=line,
            title=self.title(),
            fix=self.fix,
            url=self.url,
        )

    def findings(self, repo: Repository) -> list[Finding] | None:
        """Every place where the rule does not hold; None when it does not apply."""
        raise NotImplementedError

    def check(self, imgscaffold_repo: Repository) -> bool | str | None:
        """The repo-review protocol: True passes, a message fails, None skips."""
        found = self.findings(imgscaffold_repo)
        if found is None:
            return None
        if not found:
            return True
        lines = [f"{f.location}: {f.message}" if f.location else f.message for f in found]
        return "\n".join([*lines, "", f"Fix: {self.fix}"])


#: Every rule class, as its module defined it; imgscaffold.check.rules imports them all.
_REGISTERED: list[type[Rule]] = []

R = TypeVar("R", bound=Rule)


def registered(kind: type[R]) -> list[R]:
    """One instance of each registered rule of KIND that reads what KIND reads, in order()."""
    rules = [rule() for rule in _REGISTERED if issubclass(rule, kind) and rule.reads == kind.reads]
    return sorted(rules, key=lambda rule: rule.order())
