"""Proof that the engine tests catch a broken template: break one checklist row, expect failures.

Run on demand (it takes a while: one build per mutation):

    python -m tests.e2e.mutations [NAME ...]

Each mutation copies copier.yml and template/ to a temporary directory, changes one
thing that breaks one checklist row, renders that copy (IMGSCAFFOLD_E2E_TEMPLATE) and
runs the engine tests named for the row. The mutation is caught when those tests fail.
A mutation whose text is no longer in the template fails loudly: update it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from tests.e2e.testbed.mirror import MIRROR

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = "{% if stack == 'python' %}app{% endif %}/server.py.jinja"
DOCKER = "{% if stack != 'go' %}docker{% endif %}"
# A host name a probe would look up if it needed the network: the test bed's Debian mirror.
MIRROR_HOST = urlparse(MIRROR).hostname or "deb.debian.org"
GO_APP = "{% if stack == 'go' %}app{% endif %}"
GO_FINAL = ".partials/stacks/go/Dockerfile.final.jinja"


@dataclass(frozen=True)
class Mutation:
    """One breakage: in `file`, `old` becomes `new`; the tests matching `catches` must fail."""

    name: str
    row: int
    file: str
    old: str
    new: str
    catches: str
    """A pytest -k expression of the tests that must fail."""


MUTATIONS = [
    Mutation("user-by-name", 1, "Dockerfile.jinja", "USER {{ img.uid }}:{{ img.gid }}",
             "USER {{ img.user_name }}", "row1_runs_as"),
    Mutation("wrapper-without-exec", 1, f"{DOCKER}/entrypoint.sh.jinja", 'exec "$@"', '"$@"',
             "row1_stops_cleanly or row2_pid1"),
    Mutation("secret-twice-accepted", 3, f"{DOCKER}/config.sh.jinja",
             'set only one of them"\n            return 1',
             'set only one of them"', "row3_secret_and_secret_file"),
    Mutation("port-ignored", 3, APP, 'raw_port = get("PORT")', 'raw_port = DEFAULTS["PORT"]',
             "row3_port"),
    Mutation("config-dir-moved", 3, ".partials/settings.jinja", "'default': '/config',",
             "'default': '/etc/elsewhere',", "row3_mounted_config_dir"),
    Mutation("warnings-on-stdout", 5, APP, "    to_stdout.addFilter(_BelowWarning())\n", "",
             "row5"),
    Mutation("unique-tag-without-time", 6, "ci/lib.sh.jinja",
             '_UT_SUFFIX="-$(printf \'%.7s\' "$2")-$_ut_time"',
             '_UT_SUFFIX="-$(printf \'%.7s\' "$2")"', "row6_branch_build_gets"),
    Mutation("latest-always-moves", 7, "ci/lib.sh.jinja", 'if (latest) print "latest"',
             'print "latest"', "row7"),
    Mutation("version-overwritten", 6, "ci/release.sh.jinja",
             '        ci_error "$IMAGE_NAME:$version already exists',
             '        echo absent; return 0\n        ci_error "$IMAGE_NAME:$version already exists',
             "row6_an_existing_version"),
    Mutation("release-builds", 4, "ci/release.sh.jinja", "registry_login\n",
             "registry_login\ndocker build -q --build-arg never_build_manually=1 "
             '--build-arg "BASE_IMAGE=${BASE_IMAGE:-}" . >/dev/null\n',
             "row4_release_retags"),
    Mutation("base-digest-unset", 8, "ci/lib.sh.jinja", '--build-arg "BASE_DIGEST=$BASE_DIGEST"',
             '--build-arg "BASE_DIGEST="', "row8_base_labels or row11_every"),
    Mutation("package-lists-not-kept", 8, "ci/build.sh.jinja",
             'copy_package_lists "$IMAGE" build/packages', ":", "row8_package_lists"),
    Mutation("probe-needs-network", 9, f"{DOCKER}/healthcheck.jinja", "set -eu\n",
             f"set -eu\ngetent hosts {MIRROR_HOST} >/dev/null || exit 1\n", "row9"),
    Mutation("dirty-tree-accepted", 10, "ci/lib.sh.jinja",
             "_ct_status=$(git status --porcelain --untracked-files=normal) || return 1",
             "_ct_status=", "row10_build_refuses"),
    Mutation("revision-unknown", 10, "ci/lib.sh.jinja", '--build-arg "VCS_REF=$_bi_revision"',
             '--build-arg "VCS_REF=unknown"', "row10_revision"),
    Mutation("created-not-rfc3339", 11, "ci/lib.sh.jinja", "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
             "$(date -u +%s)", "row11_created"),
    Mutation("probe-always-healthy", 12, f"{DOCKER}/healthcheck.jinja", "set -eu\n",
             "set -eu\nexit 0\n", "row12_turns_unhealthy"),
    Mutation("no-smoke-test", 13, "Dockerfile.jinja", "RUN {{ img.smoke_test }}", "RUN true",
             "row13_broken_smoke"),
    Mutation("data-not-a-volume", 14, "Dockerfile.jinja", "VOLUME [{{ q.json(data_dir) }}]", "",
             "row14"),
    Mutation("compose-anonymous-volume", 14, "compose.yaml.jinja",
             "- {{ q.yaml('data:' ~ data_dir) }}", "- {{ q.yaml(data_dir) }}", "row2_compose"),
    Mutation("no-guard", 15, ".partials/dockerfile/guard.jinja",
             'if [ -z "${never_build_manually}" ]', "if false", "row15_plain_docker_build"),
    Mutation("local-build-labelled-ci", 15, "local_build.sh.jinja", "build_image development",
             "build_image ci", "row15_local_build"),
    # The go stack's binary does what the docker/ scripts do for the other stacks.
    Mutation("go-secret-twice-accepted", 3, f"{GO_APP}/config.go.jinja",
             '\tif os.Getenv(name) != "" {\n\t\treturn configErrorf("both',
             '\tif false {\n\t\treturn configErrorf("both', "go and row3_secret_and_secret_file"),
    Mutation("go-warnings-on-stdout", 5, f"{GO_APP}/server.go.jinja", "if level >= 2 {",
             "if level >= 9 {", "go and row5"),
    Mutation("go-probe-always-healthy", 12, f"{GO_APP}/main.go.jinja",
             'case "health":\n\t\treturn healthCommand()', 'case "health":\n\t\treturn 0',
             "go and row12_turns_unhealthy"),
    Mutation("go-no-smoke-test", 13, GO_FINAL, "RUN {{ stk.smoke_test_command | tojson }}\n",
             "", "go and row13_broken_smoke"),
    Mutation("go-exec-swallowed", 13, f"{GO_APP}/main.go.jinja",
             "\treturn execCommand(args)\n", "\treturn serveCommand(nil)\n",
             "go and row13_run_echo_hi"),
]  # fmt: skip


class StaleMutation(Exception):
    """The template changed and the mutation's text is no longer there."""


def template_file(template: Path, name: str) -> Path:
    """The file, rendered with or without a `.jinja` suffix (the template may change it)."""
    for candidate in (name, name.removesuffix(".jinja"), f"{name}.jinja"):
        if (template / candidate).is_file():
            return template / candidate
    raise StaleMutation(f"{name} is not in the template")


def mutated_template(mutation: Mutation, workdir: Path) -> Path:
    """A copy of copier.yml and template/ with the one change applied."""
    root = workdir / mutation.name
    root.mkdir()
    shutil.copy2(REPO_ROOT / "copier.yml", root / "copier.yml")
    shutil.copytree(REPO_ROOT / "template", root / "template", symlinks=True)
    target = template_file(root / "template", mutation.file)
    text = target.read_text()
    if text.count(mutation.old) != 1:
        raise StaleMutation(f"{mutation.old!r} is not once in {mutation.file}; update it")
    target.write_text(text.replace(mutation.old, mutation.new))
    return root


def caught(mutation: Mutation, workdir: Path) -> tuple[bool, str]:
    """Run the row's engine tests on the mutated template; caught when some of them fail."""
    try:
        template = mutated_template(mutation, workdir)
    except StaleMutation as exc:
        return False, f"stale: {exc}"
    env = {**os.environ, "IMGSCAFFOLD_E2E_TEMPLATE": str(template)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
               "-k", mutation.catches, str(REPO_ROOT / "tests" / "e2e")]  # fmt: skip
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    # A test must fail on its assertion; an error in setup (say, a build that broke) is
    # not the row's test catching the breakage.
    failed = re.findall(r"^FAILED (\S+)", done.stdout, re.M)
    errors = re.findall(r"^ERROR (\S+)", done.stdout, re.M)
    detail = f"{summary}; failed: {', '.join(failed) or 'none'}"
    if errors:
        detail += f"; errors: {', '.join(errors)}"
    return done.returncode == 1 and bool(failed) and not errors, detail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these mutations")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    missed = 0
    with tempfile.TemporaryDirectory(prefix="imgscaffold-mutations-") as tmp:
        for mutation in chosen:
            started = time.monotonic()
            ok, detail = caught(mutation, Path(tmp))
            missed += not ok
            verdict = "caught" if ok else "MISSED"
            print(f"row {mutation.row:2d}  {mutation.name:26s} {verdict:7s} "
                  f"{time.monotonic() - started:5.0f}s  {detail}", flush=True)  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
