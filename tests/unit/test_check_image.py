"""`imgscaffold check --image`: the image rules on `docker image inspect` output."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from imgscaffold.check.rules.image import ImageFacts
from imgscaffold.check.runner import check_image, check_image_facts
from tests.helpers import GOOD, OCI


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
