"""`imgscaffold check --image`: the image rules on inspect output, and on a real engine."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest

from imgscaffold.audit import check_image, check_image_facts
from imgscaffold.checks.image import ImageFacts
from imgscaffold.errors import UsageError

SHA = "0123456789abcdef0123456789abcdef01234567"
OCI = "org.opencontainers.image."
# The shape `docker image inspect` gives for an image of the standard (trimmed).
GOOD: dict[str, Any] = {
    "Id": "sha256:" + "1" * 64,
    "Config": {
        "User": "10001:10001",
        "Entrypoint": ["/usr/local/bin/docker-entrypoint.sh"],
        "Cmd": ["python", "/app/server.py"],
        "Volumes": {"/data": {}},
        "Healthcheck": {
            "Test": ["CMD", "/usr/local/bin/healthcheck"],
            "Interval": 10000000000,
            "Timeout": 3000000000,
            "StartPeriod": 15000000000,
            "Retries": 3,
        },
        "Labels": {
            OCI + "created": "2026-11-28T01:00:00Z",
            OCI + "revision": SHA,
            OCI + "version": "1.2.3",
            OCI + "source": "https://github.com/example/app",
            OCI + "url": "https://github.com/example/app",
            OCI + "title": "app",
            OCI + "description": "An app.",
            OCI + "licenses": "MIT",
            OCI + "vendor": "Example",
            OCI + "authors": "team@example.com",
            OCI + "documentation": "https://github.com/example/app#readme",
            OCI + "base.name": "docker.io/library/python:3.12.8-slim-bookworm",
            OCI + "base.digest": "sha256:" + "2" * 64,
        },
    },
}


def run(inspect: dict[str, Any], packages: list[str] | None = None) -> dict[str, list[str]]:
    facts = ImageFacts("app:1", inspect, ["os.txt"] if packages is None else packages)
    report = check_image_facts(facts)
    found: dict[str, list[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.rule, []).append(finding.message)
    return found


def changed(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    node = data
    *parents, last = path.split("/")
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return data


def test_a_good_image_passes() -> None:
    assert run(GOOD) == {}


@pytest.mark.parametrize(
    ("rule", "inspect", "message"),
    [
        ("IMG501", changed("Config/User", ""), "runs as root"),
        ("IMG501", changed("Config/User", "0"), "root"),
        ("IMG501", changed("Config/User", "app"), "not a numeric uid"),
        ("IMG601", changed("Config/Entrypoint", ["/bin/sh", "-c", "exec app"]), "/bin/sh -c"),
        ("IMG508", changed("Config/Labels/" + OCI + "base.digest", ""), "base.digest"),
        ("IMG508", changed("Config/Labels/" + OCI + "base.name", None), "base.name"),
        ("IMG510", changed("Config/Labels/" + OCI + "revision", "1a2b3c4"), "full commit SHA"),
        ("IMG510", changed("Config/Labels/" + OCI + "source", "example/app"), "repository URL"),
        ("IMG511", changed("Config/Labels/" + OCI + "vendor", ""), "vendor"),
        ("IMG511", changed("Config/Labels/" + OCI + "created", "yesterday"), "RFC 3339"),
        ("IMG512", changed("Config/Healthcheck", None), "no health check"),
        ("IMG512", changed("Config/Healthcheck", {"Test": ["NONE"]}), "no health check"),
        ("IMG512", changed("Config/Healthcheck/StartPeriod", None), "StartPeriod"),
        ("IMG514", changed("Config/Volumes", None), "Volumes is empty"),
    ],
)
def test_image_rule_fails(rule: str, inspect: dict[str, Any], message: str) -> None:
    found = run(inspect)
    # An empty base label also breaks IMG511's "no label is empty"; nothing else fails.
    assert rule in found and set(found) <= {rule, "IMG511"}
    assert any(message in m for m in found[rule]), found


def test_missing_package_list() -> None:
    assert list(run(GOOD, packages=[])) == ["IMG608"]


def test_no_docker_on_path_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from imgscaffold.errors import DockerError

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(DockerError, match="docker CLI"):
        check_image("app:1")


GOOD_DOCKERFILE = f"""FROM {{base}}
RUN mkdir -p /data /usr/share/image-packages \\
 && dpkg-query --show > /usr/share/image-packages/os.txt \\
 && chown 10001:10001 /data
USER 10001:10001
VOLUME ["/data"]
HEALTHCHECK --interval=5s --timeout=2s --start-period=5s --retries=2 CMD ["true"]
ENTRYPOINT ["sleep"]
CMD ["infinity"]
LABEL {" ".join(f'{k}="{v}"' for k, v in GOOD["Config"]["Labels"].items())}
"""
BAD_DOCKERFILE = "FROM {base}\nCMD sleep infinity\n"


@pytest.mark.engine
def test_image_on_a_real_engine(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from tests.conftest import engine_or_reason
    from tests.e2e.testbed import Engine, import_standin

    engine = engine_or_reason(request.config)
    assert isinstance(engine, Engine)
    base = import_standin(engine, "python")
    tags = []
    try:
        results = {}
        for name, text in (("good", GOOD_DOCKERFILE), ("bad", BAD_DOCKERFILE)):
            context = tmp_path / name
            context.mkdir()
            (context / "Dockerfile").write_text(text.format(base=base))
            tag = f"imgscaffold-check-test/{name}:{uuid.uuid4().hex[:8]}"
            engine.docker("build", "-q", "-t", tag, str(context), timeout=300)
            tags.append(tag)
            report = check_image(tag, docker=str(engine.client))
            results[name] = sorted({f.rule for f in report.findings})
        assert results["good"] == []
        assert results["bad"] == [
            "IMG501",
            "IMG508",
            "IMG510",
            "IMG511",
            "IMG512",
            "IMG514",
            "IMG601",
            "IMG608",
        ]
        with pytest.raises(UsageError, match="not on the local engine"):
            check_image("imgscaffold-check-test/missing:none", docker=str(engine.client))
    finally:
        for tag in tags:
            engine.docker("rmi", "--force", tag, check=False)
