"""`imgscaffold check --image REGISTRY/...`: the supply-chain rules and the registry reader.

The rules run on facts; the facts come from a registry's documents (here a recorded set in
the shape the loopback registry of the engine tests serves); the HTTP side, with its token
authentication, runs against a registry double on loopback. tests/e2e/test_supply_chain.py
runs the whole command against the test bed's registry.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from imgscaffold.check import runner
from imgscaffold.check.rules import SUPPLY_CHAIN_RULES as RULES
from imgscaffold.check.rules.image import ImageFacts
from imgscaffold.check.rules.supply_chain import (
    BaseFacts,
    SupplyChainFacts,
    is_release_tag,
)
from imgscaffold.check.runner import supply_chain_facts
from imgscaffold.errors import RegistryError
from imgscaffold.registry import ImageReference, Manifest, RegistryClient, docker_credentials

INDEX = "sha256:" + "a" * 64
PLATFORM = "sha256:" + "b" * 64
ATTESTATION = "sha256:" + "c" * 64
CONFIG = "sha256:" + "d" * 64
BASE_OLD = "sha256:" + "e" * 64
BASE_NEW = "sha256:" + "f" * 64
SPDX = "https://spdx.dev/Document"
SLSA = "https://slsa.dev/provenance/v0.2"


# ---------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5000/e2e/app:1.0.0", ("127.0.0.1:5000", "e2e/app", "1.0.0", None)),
        ("registry.example.org/team/app", ("registry.example.org", "team/app", "latest", None)),
        ("python:3.12", ("docker.io", "library/python", "3.12", None)),
        ("localhost/app@" + INDEX, ("localhost", "app", None, INDEX)),
        ("ghcr.io/o/app:v1@" + INDEX, ("ghcr.io", "o/app", "v1", INDEX)),
        ("localhost:5000/app", ("localhost:5000", "app", "latest", None)),
    ],
)
def test_references_parse_as_docker_reads_them(text: str, expected: tuple[Any, ...]) -> None:
    ref = ImageReference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected


@pytest.mark.parametrize("text", ["", "UPPER/case", "app@sha256:short", "reg.io/"])
def test_a_malformed_reference_is_one_clear_error(text: str) -> None:
    with pytest.raises(RegistryError, match=r"reference|digest"):
        ImageReference.parse(text)


def test_only_references_with_a_host_name_a_registry() -> None:
    assert ImageReference.parse("127.0.0.1:5000/app:1").names_registry
    assert not ImageReference.parse("team/app:1").names_registry


@pytest.mark.parametrize(
    ("tag", "release"),
    [("1.2.3", True), ("1.2", True), ("1", True), ("latest", True), ("v2.0.0", True),
     ("main-abc1234-1700000000", False), ("sha-" + "0" * 40, False), (None, False)],
)  # fmt: skip
def test_release_tags(tag: str | None, release: bool) -> None:
    assert is_release_tag(tag) is release


# ---------------------------------------------------------------- rules


def facts(**changes: Any) -> SupplyChainFacts:
    good: dict[str, Any] = {
        "ref": "127.0.0.1:5000/e2e/app:1.0.0",
        "digest": INDEX,
        "tag": "1.0.0",
        "signed": True,
        "attested": frozenset({SPDX, "https://imgscaffold.dev/attestations/release/v1"}),
        "in_index": frozenset({SLSA}),
        "base": BaseFacts(name="127.0.0.1:5000/base:1", labelled=BASE_OLD, current=BASE_OLD),
    }
    return SupplyChainFacts(**{**good, **changes})


def findings(f: SupplyChainFacts) -> dict[str, str]:
    return {
        finding.rule: finding.message for rule in RULES for finding in rule.check_supply_chain(f)
    }


def test_a_released_image_of_the_standard_passes() -> None:
    assert findings(facts()) == {}


def test_an_unsigned_release_tag_fails_naming_tag_and_digest() -> None:
    found = findings(facts(signed=False))
    assert set(found) == {"IMG506"}
    assert "1.0.0" in found["IMG506"] and INDEX in found["IMG506"]


def test_an_unsigned_build_tag_is_fine_only_releases_are_signed() -> None:
    assert findings(facts(signed=False, tag="main-abc1234-1700000000")) == {}


def test_no_sbom_fails_listing_the_attestations_there_are() -> None:
    found = findings(facts(attested=frozenset({"https://example.org/other"})))
    assert set(found) == {"IMG708"}
    assert "https://example.org/other" in found["IMG708"]


def test_an_sbom_in_the_index_counts_as_one_attached() -> None:
    assert findings(facts(attested=frozenset(), in_index=frozenset({SLSA, SPDX}))) == {}


def test_no_provenance_fails() -> None:
    assert set(findings(facts(in_index=frozenset()))) == {"IMG610"}


def test_a_base_that_moved_on_is_a_warning_with_its_age() -> None:
    base = BaseFacts(
        name="127.0.0.1:5000/base:1",
        labelled=BASE_OLD,
        current=BASE_NEW,
        labelled_created="2020-01-01T00:00:00Z",
    )
    found = findings(facts(base=base))
    assert set(found) == {"IMG808"}
    assert BASE_OLD in found["IMG808"] and BASE_NEW in found["IMG808"]
    assert "days old" in found["IMG808"]


def test_an_unreadable_base_says_why() -> None:
    base = BaseFacts(name="reg.example/base:1", labelled=BASE_OLD, error="cannot reach it")
    assert "cannot reach it" in findings(facts(base=base))["IMG808"]


# ---------------------------------------------------------------- facts from documents


class RecordedRegistry(RegistryClient):
    """The documents of one repository, by tag or digest, served as the client's answers."""

    def __init__(self, manifests: dict[str, tuple[str, dict[str, Any]]], blobs: dict[str, Any]):
        super().__init__(credentials={})
        self.manifests, self.blobs = manifests, blobs

    def manifest(self, image: ImageReference, reference: str | None = None) -> Manifest:
        key = reference or image.digest or image.tag or "latest"
        if key not in self.manifests:
            raise RegistryError(f"{image}: no manifest {key}")
        digest, document = self.manifests[key]
        return Manifest(digest=digest, media_type=document["mediaType"], document=document)

    def has_manifest(self, image: ImageReference, reference: str) -> bool:
        return reference in self.manifests

    def blob_json(self, image: ImageReference, digest: str) -> dict[str, Any]:
        return dict(self.blobs[digest])


def pushed_image(*, signed: bool, base_now: str) -> RecordedRegistry:
    index = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"digest": PLATFORM, "platform": {"os": "linux", "architecture": "amd64"}},
            {
                "digest": ATTESTATION,
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
        ],
    }
    platform = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"digest": CONFIG},
    }
    attestation = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "layers": [{"annotations": {"in-toto.io/predicate-type": SLSA}}],
    }
    cosign = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "layers": [{"annotations": {"predicateType": SPDX}}],
    }
    base = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"digest": "b"}}
    tag = "sha256-" + "a" * 64
    manifests: dict[str, tuple[str, dict[str, Any]]] = {
        "1.0.0": (INDEX, index),
        PLATFORM: (PLATFORM, platform),
        ATTESTATION: (ATTESTATION, attestation),
        f"{tag}.att": ("sha256:" + "9" * 64, cosign),
        "bookworm": (base_now, base),
        BASE_OLD: (BASE_OLD, base),
    }
    if signed:
        manifests[f"{tag}.sig"] = ("sha256:" + "8" * 64, cosign)
    labels = {
        "org.opencontainers.image.base.name": "127.0.0.1:5000/standin/python:bookworm",
        "org.opencontainers.image.base.digest": BASE_OLD,
    }
    blobs = {CONFIG: {"config": {"Labels": labels}}, "b": {"created": "2026-01-01T00:00:00Z"}}
    return RecordedRegistry(manifests, blobs)


def test_facts_read_from_the_registry_documents() -> None:
    found = supply_chain_facts(
        "127.0.0.1:5000/e2e/app:1.0.0", pushed_image(signed=True, base_now=BASE_OLD)
    )
    assert found.digest == INDEX
    assert found.signed
    assert found.attested == {SPDX}
    assert found.in_index == {SLSA}
    assert found.base == BaseFacts(
        name="127.0.0.1:5000/standin/python:bookworm",
        labelled=BASE_OLD,
        current=BASE_OLD,
        labelled_created="2026-01-01T00:00:00Z",
    )
    assert findings(found) == {}


def test_facts_of_an_unsigned_release_on_a_moved_base() -> None:
    found = supply_chain_facts(
        "127.0.0.1:5000/e2e/app:1.0.0", pushed_image(signed=False, base_now=BASE_NEW)
    )
    assert set(findings(found)) == {"IMG506", "IMG808"}


# ---------------------------------------------------------------- HTTP and credentials


class TokenRegistry(BaseHTTPRequestHandler):
    """A registry that asks for a bearer token, as Docker Hub and GHCR do."""

    TOKEN = "t0ken"
    seen: ClassVar[list[str]] = []

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path} {self.headers.get('Authorization', '')}")
        if self.path.startswith("/token"):
            self._send(200, {"token": self.TOKEN})
        elif self.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            realm = f"http://{self.headers['Host']}/token"
            self._send(401, {}, {"WWW-Authenticate": f'Bearer realm="{realm}",service="reg"'})
        elif self.path == "/v2/team/app/manifests/1.0.0":
            document = {"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
            self._send(200, document, {"Docker-Content-Digest": INDEX})
        else:
            self._send(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def token_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    TokenRegistry.seen = []
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_client_fetches_the_token_a_registry_asks_for(token_registry: str) -> None:
    client = RegistryClient(credentials={})
    image = ImageReference.parse(f"{token_registry}/team/app:1.0.0")
    manifest = client.manifest(image)
    assert manifest.digest == INDEX and manifest.is_index
    assert any(
        line.startswith("GET /token?") and "scope=repository%3Ateam%2Fapp%3Apull" in line
        for line in TokenRegistry.seen
    ), TokenRegistry.seen
    assert not client.has_manifest(image, "sha256-" + "a" * 64 + ".sig")


def test_a_missing_tag_and_an_unreachable_registry_are_clear_errors(token_registry: str) -> None:
    client = RegistryClient(credentials={}, timeout=5)
    with pytest.raises(RegistryError, match="does not exist"):
        client.manifest(ImageReference.parse(f"{token_registry}/team/app:9.9.9"))
    with pytest.raises(RegistryError, match=r"cannot reach 127\.0\.0\.1:9"):
        client.manifest(ImageReference.parse("127.0.0.1:9/team/app:1"))


def test_credentials_come_from_the_docker_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    auth = base64.b64encode(b"robot:s3cret").decode()
    config.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": auth},
                    "registry.example.org": {"auth": auth},
                    "broken.example.org": {"auth": "%%%"},
                },
                "credsStore": "desktop",
            }
        )
    )
    assert docker_credentials(config) == {
        "docker.io": ("robot", "s3cret"),
        "registry.example.org": ("robot", "s3cret"),
    }
    assert docker_credentials(tmp_path / "missing.json") == {}


# ---------------------------------------------------------------- check --image


def local_facts(ref: str, *, docker: str | None = None) -> ImageFacts:
    return ImageFacts(ref, {"Config": {}}, ["os.txt"])


@pytest.mark.parametrize(
    ("ref", "read", "why"),
    [
        ("team/app:1.0.0", True, "names no registry host"),
        ("0123abcd", True, "names no registry host"),
        ("127.0.0.1:5000/team/app:1.0.0", False, "--no-registry"),
    ],
)
def test_the_registry_rules_say_why_they_did_not_run(
    monkeypatch: pytest.MonkeyPatch, ref: str, read: bool, why: str
) -> None:
    monkeypatch.setattr(runner, "image_facts", local_facts)
    report = runner.check_image(ref, read_registry=read)
    assert set(report.skipped) == {rule.id for rule in RULES}
    assert all(why in reason for reason in report.skipped.values()), report.skipped


def test_the_registry_rules_run_on_a_registry_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "image_facts", local_facts)
    registry = pushed_image(signed=False, base_now=BASE_OLD)
    report = runner.check_image("127.0.0.1:5000/e2e/app:1.0.0", registry=registry)
    assert {rule.id for rule in RULES} <= set(report.ran)
    assert "IMG506" in {f.rule for f in report.findings}
