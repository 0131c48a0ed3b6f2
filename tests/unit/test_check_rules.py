"""One small test per rule: the passing case and each failing case.

Every case starts from tests/check_corpus/16-good, a repository that passes every rule,
and changes one thing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgscaffold.check.rules import RULES, catalogue
from imgscaffold.check.runner import check_path

GOOD = Path(__file__).resolve().parents[1] / "check_corpus" / "16-good"
GOOD_FILES = {
    str(p.relative_to(GOOD)): p.read_text()
    for p in GOOD.rglob("*")
    if p.is_file() and p.name != "expected.json"
}
DOCKERFILE = GOOD_FILES["Dockerfile"]
RULE_IDS = {rule.id for rule in RULES}


def replace(old: str, new: str, path: str = "Dockerfile") -> dict[str, str | None]:
    assert old in GOOD_FILES[path], old
    return {path: GOOD_FILES[path].replace(old, new)}


def findings(tmp_path: Path, changes: dict[str, str | None], rule: str) -> list[str] | None:
    """One rule's findings in the good repository with `changes`; None if it was skipped."""
    files = {**GOOD_FILES, **changes}
    for name, text in files.items():
        if text is None:
            continue
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    report = check_path(tmp_path, hadolint=False)
    if rule in report.skipped:
        return None
    return [f"{f.location} {f.message}" for f in report.findings if f.rule == rule]


USER_LINE = "USER 10001:10001\n"
SCRATCH = "FROM scratch\nCOPY app /app\nUSER 1:1\n"
PROBE_FLAGS = "HEALTHCHECK --interval=1s --timeout=1s --start-period=1s --retries=1 "
FAILING: list[tuple[str, str, dict[str, str | None], str]] = [
    (
        "IMG001",
        "shell-form-entrypoint",
        replace('ENTRYPOINT ["python", "/app/server.py"]', "ENTRYPOINT python /app/server.py"),
        "Dockerfile:19",
    ),
    ("IMG101", "no-user", replace(USER_LINE, ""), "no USER"),
    ("IMG101", "root", replace(USER_LINE, "USER root\n"), "runs as root"),
    ("IMG101", "uid-0", replace(USER_LINE, "USER 0:0\n"), "runs as root"),
    ("IMG101", "named", replace(USER_LINE, "USER app\n"), "is a name"),
    ("IMG201", "no-dockerignore", {".dockerignore": None}, "no .dockerignore"),
    (
        "IMG301",
        "compiler",
        replace("FROM ${BASE_IMAGE}\n", "FROM ${BASE_IMAGE}\nRUN apt-get install -y gcc\n"),
        "'gcc'",
    ),
    ("IMG401", "garbage", {"Dockerfile.extra": "hello\n"}, "Dockerfile.extra:1"),
    ("IMG401", "empty", {"Dockerfile.extra": ""}, "no FROM"),
    (
        "IMG002",
        "supervisord",
        replace('ENTRYPOINT ["python", "/app/server.py"]', 'ENTRYPOINT ["/usr/bin/supervisord"]'),
        "supervisord",
    ),
    (
        "IMG002",
        "s6",
        replace("FROM ${BASE_IMAGE}\n", "FROM ${BASE_IMAGE}\nRUN tar -C / -xf s6-overlay.tar\n"),
        "s6-overlay",
    ),
    ("IMG102", "two-cmds", replace(USER_LINE, USER_LINE + 'CMD ["a"]\nCMD ["b"]\n'), "overridden"),
    (
        "IMG202",
        "no-exec",
        {
            "Dockerfile": DOCKERFILE.replace(
                'ENTRYPOINT ["python", "/app/server.py"]',
                'COPY app/run.sh /usr/local/bin/run.sh\nENTRYPOINT ["/usr/local/bin/run.sh"]',
            ),
            "app/run.sh": "#!/bin/sh\nset -eu\npython /app/server.py\n",
        },
        "app/run.sh:1",
    ),
    (
        "IMG302",
        "same-image-twice",
        {
            "compose.yaml": "services:\n  web:\n    build: .\n  worker:\n    build: .\n    "
            "command: "
            "[worker]\n"
        },
        "worker",
    ),
    (
        "IMG003",
        "copy-env",
        replace("COPY app/ /app/", "COPY app/ /app/\nCOPY .env /app/.env"),
        "copies an environment file",
    ),
    (
        "IMG003",
        "env-in-context",
        {".env": "A=1\n", ".dockerignore": "node_modules\n.git\n"},
        ".env is in the build context",
    ),
    (
        "IMG103",
        "env-password",
        replace(USER_LINE, "ENV DB_PASSWORD=secret\n" + USER_LINE),
        "DB_PASSWORD",
    ),
    ("IMG103", "arg-token", replace(USER_LINE, "ARG NPM_TOKEN=abc\n" + USER_LINE), "NPM_TOKEN"),
    (
        "IMG004",
        "env-arg",
        replace(
            "FROM ${BASE_IMAGE}\n",
            "FROM ${BASE_IMAGE}\nARG APP_ENV=prod\nRUN ./configure --env=${APP_ENV}\n",
        ),
        "APP_ENV",
    ),
    (
        "IMG004",
        "env-default",
        replace(
            "FROM ${BASE_IMAGE}\n",
            "FROM ${BASE_IMAGE}\nARG MODE=staging\nRUN ./configure ${MODE}\n",
        ),
        "MODE",
    ),
    (
        "IMG004",
        "env-stages",
        replace(
            "FROM ${BASE_IMAGE}\n",
            "FROM ${BASE_IMAGE} AS dev\nFROM ${BASE_IMAGE} AS prod\nFROM ${BASE_IMAGE}\n",
        ),
        "one stage per environment",
    ),
    (
        "IMG005",
        "log-file",
        replace(
            'ENTRYPOINT ["python", "/app/server.py"]',
            'ENTRYPOINT ["python", "/app/server.py", "--log-file=/var/log/app.log"]',
        ),
        "/var/log/app.log",
    ),
    (
        "IMG005",
        "env-log-file",
        replace(USER_LINE, "ENV LOG_FILE=/var/log/app.log\n" + USER_LINE),
        "/var/log/app.log",
    ),
    ("IMG105", "buffered", replace(" PYTHONUNBUFFERED=1", ""), "buffered"),
    (
        "IMG006",
        "no-sha",
        replace("app:${GITHUB_SHA}", "app:dev", ".github/workflows/image.yml"),
        "commit SHA",
    ),
    (
        "IMG007",
        "latest-in-build",
        replace("app:${GITHUB_SHA}", "app:latest", ".github/workflows/image.yml"),
        "outside the release path",
    ),
    ("IMG008", "latest", replace("python:3.12.8-slim-bookworm", "python:latest"), "moving tag"),
    ("IMG008", "untagged", replace("python:3.12.8-slim-bookworm", "python"), "no tag"),
    (
        "IMG008",
        "versionless",
        replace("python:3.12.8-slim-bookworm", "python:slim"),
        "names no version",
    ),
    (
        "IMG008",
        "arg-without-default",
        replace("ARG BASE_IMAGE=docker.io/library/python:3.12.8-slim-bookworm", "ARG BASE_IMAGE"),
        "no default",
    ),
    (
        "IMG108",
        "written-out",
        replace("FROM ${BASE_IMAGE}\n", "FROM python:3.12.8-slim\n"),
        "written out",
    ),
    (
        "IMG208",
        "syntax-moving",
        {"Dockerfile": "# syntax=docker/dockerfile:1\n" + DOCKERFILE},
        "Dockerfile:1",
    ),
    (
        "IMG009",
        "curl-sh",
        replace(
            'ENTRYPOINT ["python", "/app/server.py"]',
            "ENTRYPOINT curl -s https://x.example/i.sh | sh",
        ),
        "pipes a download",
    ),
    (
        "IMG009",
        "pip-install",
        replace(
            'ENTRYPOINT ["python", "/app/server.py"]',
            'ENTRYPOINT ["sh", "-c", "pip install x && python /app/server.py"]',
        ),
        "pip install",
    ),
    (
        "IMG009",
        "remote-probe",
        replace(
            'CMD ["python", "/app/server.py", "--health"]',
            'CMD ["curl", "-f", "https://status.example.com/"]',
        ),
        "HEALTHCHECK runs curl",
    ),
    (
        "IMG109",
        "add-url",
        replace("COPY app/ /app/", "ADD https://example.com/a.tgz /opt/\nCOPY app/ /app/"),
        "without --checksum",
    ),
    (
        "IMG109",
        "curl-pipe",
        replace(
            "RUN python -m venv /opt/venv", "RUN curl -fsSL https://example.com/install.sh | bash"
        ),
        "pipes a download",
    ),
    (
        "IMG109",
        "unverified",
        replace(
            "RUN python -m venv /opt/venv",
            "RUN curl -fsSLo /tmp/t.tgz https://example.com/t.tgz && tar -xzf /tmp/t.tgz",
        ),
        "without verifying",
    ),
    (
        "IMG209",
        "entrypoint-downloads",
        {
            "Dockerfile": DOCKERFILE.replace(
                'ENTRYPOINT ["python", "/app/server.py"]',
                'COPY app/run.sh /usr/local/bin/\nENTRYPOINT ["run.sh"]',
            ),
            "app/run.sh": '#!/bin/sh\nset -eu\napk add curl\nexec "$@"\n',
        },
        "app/run.sh:3",
    ),
    ("IMG010", "git-in-context", {".dockerignore": "node_modules\n"}, ".git is part"),
    ("IMG010", "git-re-included", {".dockerignore": "*\n!.git\n"}, ".git is part"),
    (
        "IMG110",
        "no-dirty-check",
        replace(
            '      - run: test -z "$(git status --porcelain)"\n', "", ".github/workflows/image.yml"
        ),
        "dirty",
    ),
    (
        "IMG011",
        "missing-labels",
        replace('      org.opencontainers.image.vendor="Example" \\\n', ""),
        "vendor",
    ),
    (
        "IMG111",
        "literal-created",
        replace('created="${BUILD_DATE}"', 'created="2024-01-01"'),
        "created",
    ),
    (
        "IMG211",
        "labels-early",
        replace(
            USER_LINE,
            USER_LINE + 'LABEL org.opencontainers.image.revision="${VCS_REF}"\nRUN true\n',
        ),
        "bust",
    ),
    (
        "IMG012",
        "missing",
        replace(
            "HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD",
            "# no probe:",
        ),
        "no HEALTHCHECK",
    ),
    (
        "IMG012",
        "none",
        replace(
            'HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["python", '
            '"/app/server.py", "--health"]',
            "HEALTHCHECK NONE",
        ),
        "switches the health check off",
    ),
    ("IMG012", "twice", replace("VOLUME", 'HEALTHCHECK CMD ["true"]\nVOLUME'), "overridden"),
    ("IMG112", "defaults", replace("--interval=10s --timeout=3s ", ""), "--interval, --timeout"),
    (
        "IMG212",
        "shell-probe-without-shell",
        {"Dockerfile": SCRATCH + PROBE_FLAGS + 'CMD /app -health\nENTRYPOINT ["/app"]\n'},
        "has no shell",
    ),
    (
        "IMG013",
        "no-smoke-test",
        replace("RUN python /app/server.py --self-test\n", ""),
        "tests the result",
    ),
    (
        "IMG113",
        "no-container-test",
        replace(
            '      - run: docker run --rm "app:${GITHUB_SHA}" python /app/server.py --self-test\n',
            "",
            ".github/workflows/image.yml",
        ),
        "tests the built container",
    ),
    ("IMG014", "no-volume", replace('VOLUME ["/data"]\n', ""), "no VOLUME"),
    (
        "IMG114",
        "not-owned",
        replace(" && mkdir /data && chown 10001:10001 /data", ""),
        "/data is not created",
    ),
    (
        "IMG214",
        "bind-mount",
        {"compose.yaml": "services:\n  web:\n    build: .\n    volumes:\n      - ./data:/data\n"},
        "host folder ./data",
    ),
    (
        "IMG015",
        "no-guard",
        replace(
            'RUN if [ -z "${never_build_manually}" ]; then echo "use ./local_build.sh" >&2; exit '
            "1; "
            "fi\n",
            "",
        ),
        "goes through",
    ),
    ("IMG115", "no-ci", {".github/workflows/image.yml": None}, "no CI configuration"),
    (
        "IMG215",
        "local-push",
        {"local_build.sh": "#!/bin/sh\nset -eu\ndocker build -t app:dev .\ndocker push app:dev\n"},
        "local_build.sh:4",
    ),
]

# Cases where a rule does not apply to the good repository, with files that make it apply
# and pass.
PASSING_EXTRA: list[tuple[str, str, dict[str, str | None]]] = [
    (
        "IMG202",
        "wrapper-execs",
        {
            "Dockerfile": DOCKERFILE.replace(
                'ENTRYPOINT ["python", "/app/server.py"]',
                'COPY app/run.sh /usr/local/bin/run.sh\nENTRYPOINT ["/usr/local/bin/run.sh"]',
            ),
            "app/run.sh": '#!/bin/sh\nset -eu\nexec "$@"\n',
        },
    ),
    (
        "IMG209",
        "wrapper-offline",
        {
            "Dockerfile": DOCKERFILE.replace(
                'ENTRYPOINT ["python", "/app/server.py"]',
                'COPY app/run.sh /usr/local/bin/run.sh\nENTRYPOINT ["/usr/local/bin/run.sh"]',
            ),
            "app/run.sh": '#!/bin/sh\nset -eu\n# curl is not needed here\nexec "$@"\n',
        },
    ),
    (
        "IMG302",
        "one-service",
        {"compose.yaml": "services:\n  web:\n    build: .\n  db:\n    image: postgres:17.2\n"},
    ),
    (
        "IMG214",
        "named-volume",
        {
            "compose.yaml": "services:\n  web:\n    build: .\n    volumes:\n      - "
            "data:/data\nvolumes:\n "
            " data:\n"
        },
    ),
    (
        "IMG215",
        "local-build-no-push",
        {"local_build.sh": "#!/bin/sh\nset -eu\n# never: docker push\ndocker build -t app:dev .\n"},
    ),
    (
        "IMG212",
        "exec-probe-without-shell",
        {"Dockerfile": SCRATCH + PROBE_FLAGS + 'CMD ["/app", "-health"]\nENTRYPOINT ["/app"]\n'},
    ),
    (
        "IMG101",
        "distroless-nonroot",
        {
            "Dockerfile": DOCKERFILE.replace(USER_LINE, "").replace(
                "FROM ${BASE_IMAGE}\nRUN useradd",
                "FROM gcr.io/distroless/python3-debian12:nonroot\nRUN useradd",
            )
        },
    ),
    (
        "IMG009",
        "local-probe",
        replace(
            'CMD ["python", "/app/server.py", "--health"]',
            'CMD ["curl", "-f", "http://127.0.0.1:8080/health"]',
        ),
    ),
    ("IMG008", "digest", replace("python:3.12.8-slim-bookworm", "python@sha256:" + "a" * 64)),
    ("IMG208", "syntax-pinned", {"Dockerfile": "# syntax=docker/dockerfile:1.12.0\n" + DOCKERFILE}),
    (
        "IMG007",
        "latest-in-release-job",
        {
            ".github/workflows/release.yml": "on: push\njobs:\n  release:\n    runs-on: x\n    "
            "steps:\n "
            "     - run: docker tag a:1 a:latest\n"
        },
    ),
]


@pytest.mark.parametrize(
    ("rule", "case", "changes", "expected"), FAILING, ids=[f"{r}-{c}" for r, c, _, _ in FAILING]
)
def test_rule_fails(
    tmp_path: Path, rule: str, case: str, changes: dict[str, str | None], expected: str
) -> None:
    found = findings(tmp_path, changes, rule)
    assert found, f"{rule} found nothing for {case}"
    assert any(expected in f for f in found), found


@pytest.mark.parametrize("rule", sorted(RULE_IDS))
def test_rule_passes_on_the_good_repository(tmp_path: Path, rule: str) -> None:
    found = findings(tmp_path, {}, rule)
    assert not found


@pytest.mark.parametrize(
    ("rule", "case", "changes"), PASSING_EXTRA, ids=[f"{r}-{c}" for r, c, _ in PASSING_EXTRA]
)
def test_rule_passes(tmp_path: Path, rule: str, case: str, changes: dict[str, str | None]) -> None:
    assert findings(tmp_path, changes, rule) == []


def test_every_rule_has_a_failing_case() -> None:
    assert {rule for rule, *_ in FAILING} == RULE_IDS


def test_catalogue_metadata() -> None:
    entries = catalogue()
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert entry.id[:3] == "IMG" and int(entry.id[-2:]) == entry.row
        assert entry.url.startswith("https://imgscaffold.github.io/imgscaffold/guide/")
        assert entry.url.endswith(f"/{entry.row:02d}-" + entry.url.split(f"/{entry.row:02d}-")[1])
        assert entry.title and entry.fix and entry.severity in {"error", "warning", "info"}
        assert entry.family in {"dockerfile", "scripts", "compose", "ci", "image"}
    assert {e.row for e in entries} == set(range(1, 16))
