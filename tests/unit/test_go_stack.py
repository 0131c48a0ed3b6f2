"""The go stack's rendered repository: a static binary, a final stage without a shell."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imgscaffold.answers import AnswerLayers
from imgscaffold.create import create_repository

ANSWERS = {
    "service_name": "orders.api",
    "stack": "go",
    "service_port": "9090",
    "health_path": "/status/live",
    "data_dir": "/var/lib/orders",
    "repository_url": "https://git.example.com:8443/team/orders",
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("go") / "orders"
    return create_repository(dest, layers=AnswerLayers(cli=ANSWERS)).path


def final_stage(dockerfile: str) -> str:
    """The Dockerfile from its last FROM on."""
    return dockerfile[dockerfile.rindex("\nFROM ") :]


def test_shell_scripts_of_the_other_stacks_are_not_rendered(repo: Path) -> None:
    assert not (repo / "docker").exists()
    assert "!docker/" not in (repo / ".dockerignore").read_text()


def test_builder_image_is_an_argument_with_an_immutable_tag(repo: Path) -> None:
    dockerfile = (repo / "Dockerfile").read_text()
    match = re.search(r"^ARG BUILDER_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert match, "no ARG BUILDER_IMAGE with a default"
    assert re.search(r":\d+\.\d+\.\d+-\w+$", match.group(1)), match.group(1)
    assert dockerfile.index("ARG BUILDER_IMAGE") < dockerfile.index("\nFROM ")
    assert "FROM ${BUILDER_IMAGE} AS build" in dockerfile
    assert (
        'set -- "$@" --build-arg "BUILDER_IMAGE=$BUILDER_IMAGE"'
        in (repo / "ci" / "lib.sh").read_text()
    )


def test_the_binary_is_static_and_trimmed(repo: Path) -> None:
    dockerfile = (repo / "Dockerfile").read_text()
    assert "CGO_ENABLED=0" in dockerfile
    assert "go build -trimpath" in dockerfile
    assert "go version -m" in dockerfile


def test_final_stage_runs_no_shell(repo: Path) -> None:
    final = final_stage((repo / "Dockerfile").read_text())
    assert final.startswith("\nFROM ${BASE_IMAGE}")
    assert "SHELL" not in final
    runs = re.findall(r"^RUN (.*)$", final, re.MULTILINE)
    assert runs == ['["/usr/local/bin/orders.api", "smoke-test"]'], runs
    assert final.index("USER 10001:10001") < final.index("RUN [")
    assert (
        'CMD ["/usr/local/bin/orders.api", "health"]' in final
        and "HEALTHCHECK --interval=" in final
    )
    assert 'ENTRYPOINT ["/usr/local/bin/orders.api"]' in final
    assert 'CMD ["serve"]' in final
    assert 'VOLUME ["/var/lib/orders"]' in final
    assert "EXPOSE 9090" in final


def test_compose_probes_with_the_binary(repo: Path) -> None:
    compose = (repo / "compose.yaml").read_text()
    assert 'test: ["CMD", "/usr/local/bin/orders.api", "health"]' in compose


def test_go_defaults_come_from_the_settings_list(repo: Path) -> None:
    config = (repo / "app" / "config.go").read_text()
    assert '{name: "PORT", fallback: "9090", secret: false, envOnly: false}' in config
    assert '{name: "DATA_DIR", fallback: "/var/lib/orders", secret: false' in config
    assert '{name: "API_TOKEN", fallback: "", secret: true, envOnly: false}' in config
    assert '{name: "CONFIG_DIR", fallback: "/config", secret: false, envOnly: true}' in config
    main = (repo / "app" / "main.go").read_text()
    # What the service routes on, and what the probe requests (the same without a query).
    assert 'healthPath   = "/status/live"' in main
    assert 'healthTarget = "/status/live"' in main


def test_module_path_has_no_port(repo: Path) -> None:
    first = (repo / "app" / "go.mod").read_text().splitlines()[0]
    assert first == "module git.example.com/team/orders"


def test_renovate_names_both_images(repo: Path) -> None:
    renovate = (repo / "renovate.json").read_text()
    assert "BASE_IMAGE" in renovate and "BUILDER_IMAGE" in renovate


def test_structure_tests_expect_no_shell(repo: Path) -> None:
    config = (repo / "tests" / "container-structure-test.yaml").read_text()
    assert "path: /bin/sh\n    shouldExist: false" in config
    assert "exitCode: 127" in config
    assert "docker-entrypoint.sh" not in config
