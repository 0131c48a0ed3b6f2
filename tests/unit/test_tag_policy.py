"""The tag policy of a rendered repository's ci/lib.sh: unique build tags, release tags.

The functions run as they do in CI: sourced by `sh` (dash here, busybox in Alpine-based
CI images). No Docker engine is needed.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import copier
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
COMMIT = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
TIMESTAMP = "1764201600"
SUFFIX = f"-1a2b3c4-{TIMESTAMP}"

# Rendering the working tree of this repository, uncommitted changes included, is the point.
pytestmark = pytest.mark.filterwarnings("ignore:Dirty template changes:UserWarning")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template rendered once with its defaults."""
    dst = tmp_path_factory.mktemp("tag-policy") / "demo"
    copier.run_copy(str(REPO_ROOT), str(dst), defaults=True, unsafe=False, quiet=True)
    return dst


def lib(
    repo: Path, function: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run FUNCTION ARGS... from the rendered ci/lib.sh."""
    return subprocess.run(
        ["sh", "-c", f'. ci/lib.sh; {function} "$@"', "sh", *args],
        cwd=repo,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


# ---- unique tags ----

UNIQUE_TAGS = {
    "main": "main" + SUFFIX,
    "feature/login-page": "feature-login-page" + SUFFIX,
    "Feature/ÜBER_cool": "feature-ber_cool" + SUFFIX,
    "my branch  with spaces": "my-branch-with-spaces" + SUFFIX,
    "pr-42": "pr-42" + SUFFIX,
    "-leading-dash": "leading-dash" + SUFFIX,
    ".hidden": "hidden" + SUFFIX,
    "..//--x": "x" + SUFFIX,
    "release/1.2.": "release-1.2" + SUFFIX,
    "🚀": "build" + SUFFIX,
    "": "build" + SUFFIX,
    "a" * 300: "a" * (128 - len(SUFFIX)) + SUFFIX,
}


@pytest.mark.parametrize(("name", "expected"), sorted(UNIQUE_TAGS.items()))
def test_unique_tag(repo: Path, name: str, expected: str) -> None:
    [tag] = lines(lib(repo, "unique_tag", name, COMMIT, TIMESTAMP))
    assert tag == expected
    assert IMAGE_TAG.match(tag)


@pytest.mark.parametrize(
    "name",
    [
        "ünïcödé/" * 40,
        "-" * 300,
        "." + "x/" * 150,
        "feature/" + "ä" * 200 + "/end",
        "a.b-c_d/" * 50,
        "\t\n weird\x7f",
    ],
)
def test_unique_tag_is_always_a_valid_image_tag(repo: Path, name: str) -> None:
    [tag] = lines(lib(repo, "unique_tag", name, COMMIT, TIMESTAMP))
    assert IMAGE_TAG.match(tag), tag
    assert tag.endswith(SUFFIX)


def test_unique_tag_takes_the_timestamp_from_build_timestamp(repo: Path) -> None:
    done = lib(repo, "unique_tag", "main", COMMIT, env={"BUILD_TIMESTAMP": "42"})
    assert lines(done) == ["main-1a2b3c4-42"]


@pytest.mark.parametrize(
    ("commit", "timestamp"), [("", TIMESTAMP), ("not-a-sha", TIMESTAMP), (COMMIT, "soon")]
)
def test_unique_tag_rejects_bad_input(repo: Path, commit: str, timestamp: str) -> None:
    done = lib(repo, "unique_tag", "main", commit, timestamp)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr


@pytest.fixture(scope="module")
def git_repo(repo: Path) -> tuple[Path, str]:
    """The rendered repository with one commit, for ci_context."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "init")
    return repo, git("rev-parse", "HEAD")


GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_RUN_ID": "7",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "team/demo",
    "BUILD_TIMESTAMP": TIMESTAMP,
}


@pytest.mark.parametrize(
    ("event", "expected_slug"),
    [
        (
            {
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_REF": "refs/heads/feature/x",
                "GITHUB_REF_NAME": "feature/x",
                "GITHUB_REF_TYPE": "branch",
            },
            "feature-x",
        ),
        (
            {
                "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_REF": "refs/pull/42/merge",
                "GITHUB_REF_NAME": "42/merge",
                "GITHUB_REF_TYPE": "branch",
                "GITHUB_HEAD_REF": "feature/x",
            },
            "pr-42",
        ),
        (
            {
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_REF": "refs/tags/v1.2.3",
                "GITHUB_REF_NAME": "v1.2.3",
                "GITHUB_REF_TYPE": "tag",
            },
            "v1.2.3",
        ),
    ],
    ids=["branch", "pull-request", "tag"],
)
def test_github_context_names_the_unique_tag(
    git_repo: tuple[Path, str], event: dict[str, str], expected_slug: str
) -> None:
    repo, commit = git_repo
    done = lib(repo, "ci_context; ci_unique_tag", env={**GITHUB, **event})
    assert lines(done) == [f"{expected_slug}-{commit[:7]}-{TIMESTAMP}"]


# ---- release tags ----

RELEASES = [
    # (case, version, existing git tags, expected image tags)
    ("first release", "1.0.0", ["v1.0.0"], ["1.0.0", "1.0", "1", "latest"]),
    ("first release, tag not listed", "v1.0.0", [], ["1.0.0", "1.0", "1", "latest"]),
    ("higher minor", "1.3.0", ["v1.2.3", "v1.3.0"], ["1.3.0", "1.3", "1", "latest"]),
    ("higher major", "2.0.0", ["v1.9.9", "v2.0.0"], ["2.0.0", "2.0", "2", "latest"]),
    ("backport after a higher minor", "1.2.4", ["v1.2.3", "v1.3.0", "v1.2.4"], ["1.2.4", "1.2"]),
    ("backport after a higher major", "1.9.1", ["v1.9.0", "v2.0.0"], ["1.9.1", "1.9", "1"]),
    ("older patch of its own line", "1.2.3", ["v1.2.5", "v1.3.0"], ["1.2.3"]),
    ("prerelease", "1.3.0-rc.1", ["v1.2.3", "v1.3.0-rc.1"], ["1.3.0-rc.1"]),
    ("prerelease of a new major", "2.0.0-beta.2", ["v1.2.3"], ["2.0.0-beta.2"]),
    (
        "stable after its release candidates",
        "1.3.0",
        ["v1.2.3", "v1.3.0-rc.1", "v1.3.0-rc.2", "v1.3.0"],
        ["1.3.0", "1.3", "1", "latest"],
    ),
    (
        "a higher prerelease does not hold latest back",
        "1.3.1",
        ["v1.3.0", "v1.3.1", "v2.0.0-rc.1"],
        ["1.3.1", "1.3", "1", "latest"],
    ),
    ("v0 first release", "0.1.0", ["v0.1.0"], ["0.1.0", "0.1", "0", "latest"]),
    ("v0 higher minor", "0.2.0", ["v0.1.0", "v0.2.0"], ["0.2.0", "0.2", "0", "latest"]),
    ("v0 backport", "0.1.1", ["v0.1.0", "v0.2.0", "v0.1.1"], ["0.1.1", "0.1"]),
    ("v0 after v1 exists", "0.9.0", ["v1.0.0"], ["0.9.0", "0.9", "0"]),
    (
        "numbers compare as numbers",
        "1.10.0",
        ["v1.9.0", "v1.10.0"],
        ["1.10.0", "1.10", "1", "latest"],
    ),
    ("1.9.5 is below 1.10.0", "1.9.5", ["v1.10.0"], ["1.9.5", "1.9"]),
    (
        "numbers beyond floating point",
        "1.2.99999999999999999999",
        ["v1.2.99999999999999999998"],
        ["1.2.99999999999999999999", "1.2", "1", "latest"],
    ),
    (
        "numbers beyond floating point, lower",
        "1.2.99999999999999999998",
        ["v1.2.99999999999999999999"],
        ["1.2.99999999999999999998"],
    ),
    (
        "invalid existing tags are ignored",
        "1.2.0",
        ["v9.9", "9.9.9", "v09.0.0", "v9.0.0+build", "v9.9.9.9", "latest", "va.b.c", "v1.2.0"],
        ["1.2.0", "1.2", "1", "latest"],
    ),
]


@pytest.mark.parametrize(
    ("version", "existing", "expected"),
    [case[1:] for case in RELEASES],
    ids=[case[0] for case in RELEASES],
)
def test_release_tags(repo: Path, version: str, existing: list[str], expected: list[str]) -> None:
    assert lines(lib(repo, "release_tags", version, *existing)) == expected


def test_repeated_release_sets_the_same_tags(repo: Path) -> None:
    existing = ["v1.0.0", "v1.1.0", "v1.2.3"]
    first = lines(lib(repo, "release_tags", "1.2.3", *existing))
    again = lines(lib(repo, "release_tags", "1.2.3", *existing, "v1.2.3"))
    assert first == again == ["1.2.3", "1.2", "1", "latest"]


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("v1.2.3", "1.2.3"),
        ("v0.0.0", "0.0.0"),
        ("v10.20.30", "10.20.30"),
        ("v1.3.0-rc.1", "1.3.0-rc.1"),
        ("v1.0.0-alpha-1.x-y.0", "1.0.0-alpha-1.x-y.0"),
        ("v1.0.0-0a.1", "1.0.0-0a.1"),
    ],
)
def test_parse_release_tag_accepts_semver(repo: Path, tag: str, version: str) -> None:
    assert lines(lib(repo, "parse_release_tag", tag)) == [version]


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("v1.2", "not MAJOR.MINOR.PATCH"),
        ("1.2.3", "leading 'v'"),
        ("v01.2.3", "leading zero"),
        ("v1.02.3", "leading zero"),
        ("v1.2.3+build", "build metadata"),
        ("v1.2.3-rc.1+build.5", "build metadata"),
        ("v1.2.3-01", "leading zero"),
        ("v1.2.3-", "invalid pre-release part"),
        ("v1.2.3-rc..1", "invalid pre-release part"),
        ("v1.2.3.4", "not MAJOR.MINOR.PATCH"),
        ("vv1.2.3", "not MAJOR.MINOR.PATCH"),
        ("v1.2.3 ", "not MAJOR.MINOR.PATCH"),
        ("v1.2.3\nv1.2.4", "expected vMAJOR.MINOR.PATCH"),
        ("", "leading 'v'"),
        ("latest", "leading 'v'"),
    ],
)
def test_parse_release_tag_rejects(repo: Path, tag: str, message: str) -> None:
    done = lib(repo, "parse_release_tag", tag)
    assert done.returncode != 0
    assert done.stdout == ""
    assert message in done.stderr


@pytest.mark.parametrize("version", ["1.2", "v01.2.3", "1.2.3+build"])
def test_release_tags_rejects_an_invalid_version(repo: Path, version: str) -> None:
    done = lib(repo, "release_tags", version, "v1.0.0")
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr
