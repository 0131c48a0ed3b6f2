"""Reading images from their registry: the OCI distribution API, nothing else.

`imgscaffold check --image` reads what a registry holds beside an image: its image index
(with BuildKit's attestation manifests) and the tags cosign attaches signatures and
attestations under (`sha256-<hex>.sig`, `sha256-<hex>.att`). Only reads: GET and HEAD
of manifests and blobs, with the token or basic authentication registries ask for.

Loopback registries are reached over plain HTTP, as Docker itself does; every other one
over HTTPS. Credentials come from the `auths` of the Docker client's config.json, where
`docker login` writes them unless a credential helper keeps them (helpers are not run:
such a registry is read anonymously).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgscaffold.errors import RegistryError

__all__ = [
    "INDEX_TYPES",
    "ImageReference",
    "Manifest",
    "RegistryClient",
    "docker_credentials",
]

DOCKER_HUB = "docker.io"
_DOCKER_HUB_API = "registry-1.docker.io"

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_MANIFEST_TYPES = (
    *INDEX_TYPES,
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_LOOPBACK = re.compile(r"^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$")


@dataclass(frozen=True)
class ImageReference:
    """An image reference as Docker reads it: registry, repository, tag and digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        """`[registry/]repository[:tag][@sha256:...]`; no registry means Docker Hub."""
        rest, _, digest = text.strip().partition("@")
        if digest and not _DIGEST.fullmatch(digest):
            raise RegistryError(f"{text}: {digest!r} is not a sha256 digest")
        first, slash, remainder = rest.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, path = first, remainder
        else:
            registry, path = DOCKER_HUB, rest
        name, colon, tag = path.rpartition(":")
        if not colon or "/" in tag:
            name, tag = path, ""
        if not name or not re.fullmatch(r"[a-z0-9]+([._/-][a-z0-9]+)*", name):
            raise RegistryError(f"{text}: not an image reference")
        if registry == DOCKER_HUB and "/" not in name:
            name = f"library/{name}"
        return cls(registry, name, tag or (None if digest else "latest"), digest or None)

    @property
    def names_registry(self) -> bool:
        """Whether the reference was written with a registry host (not Docker Hub's default)."""
        return self.registry != DOCKER_HUB

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class Manifest:
    """A manifest or image index, by the digest the registry gave it."""

    digest: str
    media_type: str
    document: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or "manifests" in self.document


def docker_credentials(config: Path | None = None) -> dict[str, tuple[str, str]]:
    """registry host -> (user, password) from the Docker client's config.json `auths`."""
    path = config or Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / (
        "config.json"
    )
    try:
        auths = json.loads(path.read_text()).get("auths") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    found: dict[str, tuple[str, str]] = {}
    for host, entry in auths.items():
        try:
            user, _, password = base64.b64decode(entry.get("auth", "")).decode().partition(":")
        except (ValueError, AttributeError):
            continue
        if user:
            key = urllib.parse.urlsplit(host).netloc or host.split("/")[0]
            found["docker.io" if "index.docker.io" in key else key] = (user, password)
    return found


class RegistryClient:
    """Reads manifests and blobs, authenticating as each registry asks."""

    def __init__(
        self,
        *,
        credentials: Mapping[str, tuple[str, str]] | None = None,
        timeout: float = 20,
    ) -> None:
        self._credentials = dict(docker_credentials() if credentials is None else credentials)
        self._timeout = timeout
        self._tokens: dict[tuple[str, str], str] = {}

    def manifest(self, image: ImageReference, reference: str | None = None) -> Manifest:
        """The manifest or index that a tag or digest names (the reference's own by default)."""
        ref = reference or image.digest or image.tag or "latest"
        status, headers, body = self._request(image, f"manifests/{ref}", accept=_MANIFEST_TYPES)
        if status == 404:
            raise RegistryError(f"{image.registry}/{image.repository}:{ref} does not exist")
        document = _json(body, f"the manifest of {image}")
        digest = headers.get("docker-content-digest", "")
        if not _DIGEST.fullmatch(digest):
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
        media_type = str(document.get("mediaType") or headers.get("content-type", ""))
        return Manifest(digest=digest, media_type=media_type, document=document)

    def has_manifest(self, image: ImageReference, reference: str) -> bool:
        """Whether a tag (or digest) exists in the image's repository."""
        status, _, _ = self._request(
            image, f"manifests/{reference}", accept=_MANIFEST_TYPES, method="HEAD"
        )
        return status == 200

    def blob_json(self, image: ImageReference, digest: str) -> dict[str, Any]:
        """A JSON blob (an image config, an in-toto statement) of the image's repository."""
        status, _, body = self._request(image, f"blobs/{digest}")
        if status == 404:
            raise RegistryError(f"{image.registry}/{image.repository}: no blob {digest}")
        return _json(body, f"blob {digest}")

    # ------------------------------------------------------------------ HTTP

    def _request(
        self,
        image: ImageReference,
        path: str,
        *,
        accept: tuple[str, ...] = (),
        method: str = "GET",
    ) -> tuple[int, dict[str, str], bytes]:
        """One request, and once more with the credentials a 401 asks for."""
        scheme = "http" if _LOOPBACK.match(image.registry) else "https"
        host = _DOCKER_HUB_API if image.registry == DOCKER_HUB else image.registry
        url = f"{scheme}://{host}/v2/{image.repository}/{path}"
        headers = {"Accept": ", ".join(accept)} if accept else {}
        key = (image.registry, image.repository)
        if key in self._tokens:
            headers["Authorization"] = self._tokens[key]
        status, response_headers, body = self._send(url, headers, method)
        if status == 401:
            authorization = self._authorize(image, response_headers.get("www-authenticate", ""))
            if authorization is not None:
                self._tokens[key] = authorization
                headers["Authorization"] = authorization
                status, response_headers, body = self._send(url, headers, method)
        if status in (401, 403):
            raise RegistryError(
                f"{image.registry} refused to let {image.repository} be read "
                f"(HTTP {status}): `docker login {image.registry}` first"
            )
        if status not in (200, 404):
            raise RegistryError(f"{url}: HTTP {status}")
        return status, response_headers, body

    def _send(
        self, url: str, headers: Mapping[str, str], method: str
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, headers=dict(headers), method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.status, _lower(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, _lower(error.headers), error.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            host = urllib.parse.urlsplit(url).netloc
            raise RegistryError(f"cannot reach {host}: {reason}") from error

    def _authorize(self, image: ImageReference, challenge: str) -> str | None:
        """The Authorization header a `WWW-Authenticate` challenge asks for, if any."""
        scheme, _, params = challenge.partition(" ")
        user_password = self._credentials.get(image.registry)
        if scheme.lower() == "basic":
            if user_password is None:
                return None
            return "Basic " + base64.b64encode(":".join(user_password).encode()).decode()
        if scheme.lower() != "bearer":
            return None
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        realm = fields.get("realm")
        if not realm:
            return None
        query = {"scope": f"repository:{image.repository}:pull"}
        if fields.get("service"):
            query["service"] = fields["service"]
        headers = {}
        if user_password is not None:
            headers["Authorization"] = (
                "Basic " + base64.b64encode(":".join(user_password).encode()).decode()
            )
        status, _, body = self._send(f"{realm}?{urllib.parse.urlencode(query)}", headers, "GET")
        if status != 200:
            return None
        token = _json(body, f"the token from {realm}")
        value = token.get("token") or token.get("access_token")
        return f"Bearer {value}" if value else None


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as error:
        raise RegistryError(f"{what} is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise RegistryError(f"{what} is not a JSON object")
    return document
