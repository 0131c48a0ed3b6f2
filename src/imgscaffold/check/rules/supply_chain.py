"""Rules on what the registry holds beside a pushed image (family `image`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.rules.image import ImageRule

__all__ = [
    "CYCLONEDX",
    "SLSA_PROVENANCE",
    "SPDX",
    "BaseFacts",
    "SupplyChainFacts",
    "SupplyChainRule",
    "is_release_tag",
]

SPDX = "https://spdx.dev/Document"
CYCLONEDX = "https://cyclonedx.org/bom"
SLSA_PROVENANCE = "https://slsa.dev/provenance/"
"""The predicate types of SBOMs and (the prefix of) SLSA provenance statements."""

_RELEASE_TAG = re.compile(r"v?\d+(\.\d+){0,2}|latest")


def is_release_tag(tag: str | None) -> bool:
    """Whether a tag is one that a release sets: X.Y.Z, X.Y, X or latest."""
    return tag is not None and _RELEASE_TAG.fullmatch(tag) is not None


@dataclass(frozen=True)
class BaseFacts:
    """The base image the labels name, and what its tag names in its registry today."""

    name: str
    labelled: str
    current: str | None = None
    """The digest the base's tag resolves to now; None when it could not be read."""
    labelled_created: str | None = None
    """The labelled base's own `created` time, when its config could be read."""
    error: str | None = None


@dataclass(frozen=True)
class SupplyChainFacts:
    """What the registry holds for one image reference."""

    ref: str
    digest: str
    tag: str | None
    signed: bool
    """A cosign signature is attached to the digest (the `sha256-<hex>.sig` tag)."""
    attested: frozenset[str] = field(default_factory=frozenset)
    """Predicate types of the cosign attestations attached to the digest."""
    in_index: frozenset[str] = field(default_factory=frozenset)
    """Predicate types of the attestation manifests inside the image index (BuildKit's)."""
    base: BaseFacts | None = None

    @property
    def predicate_types(self) -> frozenset[str]:
        return self.attested | self.in_index


class SupplyChainRule(ImageRule):
    """A rule on the registry's view of a pushed image.

    A pushed image of the standard carries its SBOM and its build provenance; a released one
    is signed as well; its base is the image its base tag names today, or the team knows it
    is not. These rules read that from the registry (`imgscaffold check --image
    registry/repository:tag`): whether cosign's signature and attestations are attached, and
    which attestations BuildKit put into the image index. They say what is there, not who
    made it: verifying a signature needs the publisher's key or identity, which the rendered
    `ci/verify.sh` takes.
    """

    reads = "registry"
    #: The rule's place in the order the registry is read: signature, SBOM, provenance, base.
    position: ClassVar[int]

    @classmethod
    def order(cls) -> tuple[int, str]:
        """Registry rules run and report in their `position`, not by row."""
        return (cls.position, cls.id)

    def check_image(self, facts: object) -> list[Finding]:
        return []  # runs on SupplyChainFacts, through check_supply_chain

    def check_supply_chain(self, facts: SupplyChainFacts) -> list[Finding]:
        raise NotImplementedError

    def at(self, facts: SupplyChainFacts, message: str) -> Finding:
        return self.finding(message, facts.ref, None)


class ReleaseSigned(SupplyChainRule):
    """A released image is signed"""

    id = "IMG506"
    row = 6
    position = 1
    severity = Severity.ERROR
    fix = (
        "Sign the digest when releasing it (the rendered ci/release.sh runs cosign sign) "
        "and never move a version tag by hand."
    )

    def check_supply_chain(self, facts: SupplyChainFacts) -> list[Finding]:
        if facts.signed or not is_release_tag(facts.tag):
            return []
        return [
            self.at(
                facts,
                f"the release tag {facts.tag} points at {facts.digest}, "
                "which has no cosign signature",
            )
        ]


class SbomAttached(SupplyChainRule):
    """The pushed image carries an SBOM"""

    id = "IMG708"
    row = 8
    position = 2
    severity = Severity.ERROR
    fix = (
        "Write an SBOM of the built image (syft) and attach it to the pushed digest "
        "(cosign attest --type spdxjson), as the rendered ci/build.sh and ci/push.sh do."
    )

    def check_supply_chain(self, facts: SupplyChainFacts) -> list[Finding]:
        types = facts.predicate_types
        if any(t.startswith((SPDX, CYCLONEDX)) for t in types):
            return []
        listed = ", ".join(sorted(types)) or "none"
        return [self.at(facts, f"{facts.digest} has no SBOM attestation (attestations: {listed})")]


class ProvenanceAttached(SupplyChainRule):
    """The pushed image carries its build provenance"""

    id = "IMG610"
    row = 10
    position = 3
    severity = Severity.ERROR
    fix = (
        "Build with BuildKit's provenance (docker buildx build --provenance=mode=max) "
        "into an OCI image index and push the index, as the rendered ci/build.sh does."
    )

    def check_supply_chain(self, facts: SupplyChainFacts) -> list[Finding]:
        if any(t.startswith(SLSA_PROVENANCE) for t in facts.predicate_types):
            return []
        return [self.at(facts, f"{facts.digest} has no SLSA provenance attestation")]


class BaseCurrent(SupplyChainRule):
    """The image is built on its base tag's current image"""

    id = "IMG808"
    row = 8
    position = 4
    severity = Severity.WARNING
    fix = (
        "Rebuild on the base tag's current digest "
        "(Renovate's digest updates of the Dockerfile's ARG BASE_IMAGE do it) "
        "and release the rebuilt image."
    )

    def check_supply_chain(self, facts: SupplyChainFacts) -> list[Finding]:
        base = facts.base
        if base is None:
            return []  # no base labels: IMG508 reports that
        if base.error is not None:
            return [self.at(facts, f"cannot tell whether {base.name} moved on: {base.error}")]
        if base.current is None or base.current == base.labelled:
            return []
        age = _age(base.labelled_created)
        return [
            self.at(
                facts,
                f"built on {base.name}@{base.labelled}{age}; the tag now names {base.current}",
            )
        ]


def _age(created: str | None, now: datetime | None = None) -> str:
    """`, N days old` for an RFC 3339 time, or nothing when there is none."""
    if not created:
        return ""
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    days = ((now or datetime.now(UTC)) - when).days
    return f", {days} days old" if days >= 0 else ""
