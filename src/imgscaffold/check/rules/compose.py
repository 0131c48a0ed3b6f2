"""Rules on compose files (family `compose`)."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from imgscaffold.check.repository import Repository
from imgscaffold.check.rule import Finding, Rule, Severity


def _services(repo: Repository) -> list[tuple[str, str, dict[str, Any], int | None]]:
    found = []
    for path in repo.compose_files:
        try:
            data = YAML(typ="rt").load(repo.read(path) or "")
        except YAMLError:
            continue
        services = data.get("services") if isinstance(data, dict) else None
        if not isinstance(services, dict):
            continue
        for name, service in services.items():
            if isinstance(service, dict):
                line = services.lc.key(name)[0] + 1 if hasattr(services, "lc") else None
                found.append((path, str(name), dict(service), line))
    return found


def _build_key(service: dict[str, Any]) -> str | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return f"{build}|Dockerfile"
    if isinstance(build, dict):
        context, dockerfile = build.get("context", "."), build.get("dockerfile", "Dockerfile")
        return f"{context}|{dockerfile}|{build.get('target', '')}"
    return None


class OneServicePerImage(Rule):
    """Compose runs each image built here as one service"""

    id = "IMG302"
    row = 2
    family = "compose"
    severity = Severity.WARNING
    fix = (
        "Give each process its own image (or its own build target); "
        "dependencies run as separate services."
    )

    def findings(self, repo: Repository) -> list[Finding] | None:
        services = _services(repo)
        if not services:
            return None
        seen: dict[str, str] = {}
        found = []
        for path, name, service, line in services:
            key = _build_key(service)
            if key is None:
                continue
            if key in seen and "command" in service:
                found.append(
                    self.finding(
                        f"service {name} runs the image of {seen[key]} with another command",
                        path,
                        line,
                    )
                )
            seen.setdefault(key, name)
        return found


class NamedVolume(Rule):
    """Compose keeps the data of services built here in named volumes"""

    id = "IMG214"
    row = 14
    family = "compose"
    severity = Severity.INFO
    fix = (
        "Map a named volume (volumes: [data:/data]) rather than a host folder, "
        "so the data outlives the container and stays portable."
    )

    def findings(self, repo: Repository) -> list[Finding] | None:
        services = _services(repo)
        if not services:
            return None
        found = []
        for path, name, service, line in services:
            for volume in service.get("volumes") or []:
                source = (
                    volume.split(":", 1)[0]
                    if isinstance(volume, str)
                    else str(volume.get("source", ""))
                )
                kind = None if isinstance(volume, str) else volume.get("type")
                bind = kind == "bind" or (
                    isinstance(volume, str) and ":" in volume and source.startswith((".", "/", "~"))
                )
                # Only services built here: another project's image is not ours to judge.
                if bind and (_build_key(service) is not None or "image" not in service):
                    found.append(
                        self.finding(f"service {name} mounts the host folder {source}", path, line)
                    )
        return found
