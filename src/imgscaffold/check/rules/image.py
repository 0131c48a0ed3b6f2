"""Rules on a built image, read from `docker image inspect` (family `image`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from imgscaffold.check.rule import OCI_LABEL_KEYS, Finding, Rule, Severity

__all__ = ["PACKAGE_LIST_DIR", "ImageFacts", "ImageRule"]

#: Where images of the standard keep their package lists (one file per package manager).
PACKAGE_LIST_DIR = "/usr/share/image-packages"

_OCI = "org.opencontainers.image."


@dataclass
class ImageFacts:
    """What the image rules look at: the inspect document and the package list files."""

    ref: str
    inspect: dict[str, Any]
    #: Names of the files in PACKAGE_LIST_DIR; None when they could not be read.
    package_lists: list[str] | None = field(default=None)

    @property
    def config(self) -> dict[str, Any]:
        value = self.inspect.get("Config") or {}
        return value if isinstance(value, dict) else {}

    @property
    def labels(self) -> dict[str, str]:
        value = self.config.get("Labels") or {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


class ImageRule(Rule):
    """A rule on a built image.

    The image is never run: the package lists are copied out of a created, never started
    container.
    """

    family = "image"
    reads = "image"

    def findings(self, repo: object) -> list[Finding] | None:
        return None  # image rules never run on a repository

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        raise NotImplementedError

    def on(self, facts: ImageFacts, message: str) -> Finding:
        return self.finding(message, facts.ref, None)


class ImageUser(ImageRule):
    """The image runs as a numeric non-root user"""

    id = "IMG501"
    row = 1
    severity = Severity.ERROR
    fix = "End the Dockerfile with USER 10001:10001 (numeric, not 0)."

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        user = str(facts.config.get("User") or "")
        uid = user.split(":")[0]
        if not uid:
            return [self.on(facts, "Config.User is empty: the image runs as root")]
        if uid in {"0", "root"}:
            return [self.on(facts, f"Config.User is {user}: root")]
        if not uid.isdigit():
            return [self.on(facts, f"Config.User is the name {user!r}, not a numeric uid")]
        return []


class ImageExecForm(ImageRule):
    """The image's entrypoint runs without a shell in between"""

    id = "IMG601"
    row = 1
    severity = Severity.WARNING
    fix = 'Use the exec form: ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"].'

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        found = []
        for key in ("Entrypoint", "Cmd"):
            value = facts.config.get(key) or []
            if isinstance(value, list) and value[:2] in (["/bin/sh", "-c"], ["sh", "-c"]):
                if key == "Cmd" and facts.config.get("Entrypoint"):
                    continue
                found.append(self.on(facts, f"Config.{key} starts with {' '.join(value[:2])}"))
        return found


class ImageBaseLabels(ImageRule):
    """The image names its base image and digest in labels"""

    id = "IMG508"
    row = 8
    severity = Severity.WARNING
    fix = (
        "Pass the base image's name and digest as build arguments "
        "into org.opencontainers.image.base.name and .base.digest."
    )

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        labels = facts.labels
        found = []
        if not labels.get(_OCI + "base.name"):
            found.append(self.on(facts, "label base.name is missing or empty"))
        digest = labels.get(_OCI + "base.digest", "")
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            found.append(self.on(facts, f"label base.digest is not a sha256 digest: {digest!r}"))
        return found


class ImagePackageList(ImageRule):
    """The image holds a list of its packages"""

    id = "IMG608"
    row = 8
    severity = Severity.WARNING
    fix = f"Write the OS (and language) package lists to {PACKAGE_LIST_DIR}/ during the build."

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        if not facts.package_lists:
            return [self.on(facts, f"no package list in {PACKAGE_LIST_DIR}")]
        return []


class ImageCommit(ImageRule):
    """The image names its commit and repository"""

    id = "IMG510"
    row = 10
    severity = Severity.ERROR
    fix = (
        "Pass the full commit SHA (git rev-parse HEAD) and the repository URL into the revision "
        "and source labels."
    )

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        labels = facts.labels
        found = []
        revision = labels.get(_OCI + "revision", "")
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", revision):
            found.append(self.on(facts, f"label revision is not a full commit SHA: {revision!r}"))
        if not re.match(r"https?://|git@|ssh://", labels.get(_OCI + "source", "")):
            found.append(self.on(facts, "label source is not a repository URL"))
        return found


class ImageLabels(ImageRule):
    """The image carries every OCI label, none empty"""

    id = "IMG511"
    row = 11
    severity = Severity.WARNING
    fix = "Set every org.opencontainers.image.* label from build arguments in one LABEL block."

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        labels = facts.labels
        missing = [k for k in OCI_LABEL_KEYS if not labels.get(_OCI + k)]
        found = []
        if missing:
            found.append(self.on(facts, "missing or empty labels: " + ", ".join(missing)))
        created = labels.get(_OCI + "created")
        if created:
            try:
                datetime.fromisoformat(created.replace("Z", "+00:00"))
                if "T" not in created:
                    raise ValueError(created)
            except ValueError:
                found.append(self.on(facts, f"label created is not RFC 3339: {created!r}"))
        return found


class ImageHealthcheck(ImageRule):
    """The image has a health check with explicit timings"""

    id = "IMG512"
    row = 12
    severity = Severity.WARNING
    fix = "Add HEALTHCHECK with --interval, --timeout, --start-period and --retries."

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        health = facts.config.get("Healthcheck") or {}
        test = health.get("Test") if isinstance(health, dict) else None
        if not test or test == ["NONE"]:
            return [self.on(facts, "the image has no health check")]
        missing = [
            k for k in ("Interval", "Timeout", "StartPeriod", "Retries") if not health.get(k)
        ]
        if missing:
            return [self.on(facts, "the health check leaves defaults for " + ", ".join(missing))]
        return []


class ImageVolume(ImageRule):
    """The image declares a volume for its data"""

    id = "IMG514"
    row = 14
    severity = Severity.WARNING
    fix = 'Declare VOLUME ["/data"] for the directory the service writes.'

    def check_image(self, facts: ImageFacts) -> list[Finding]:
        if facts.config.get("Volumes"):
            return []
        return [self.on(facts, "Config.Volumes is empty")]
