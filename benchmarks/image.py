"""What the standard costs and saves: a rendered image next to a hand-written one.

Run on demand: `python benchmarks/image.py [--stack python]`. For each stack it renders a
repository, builds it with the repository's own `ci/build.sh` and, from the same sample
service, a plain single-stage Dockerfile of the kind a team writes by hand (`FROM base`,
`COPY . /app` first, the dependency install after it, root user, no init, shell-form
CMD). It prints cold build time, rebuild time after a source-only change, size over the
base, seconds to the first answer and to `healthy`, and `docker stop` time, with ratios.

Each cold build starts from a base image with a digest of its own (same layers, new
config), so nothing can come from the build cache. It needs what the engine tests need:
a Docker engine, debootstrap and the Debian registry (see tests/e2e/testbed/).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests import stackfacts  # noqa: E402
from tests.e2e import containers  # noqa: E402
from tests.e2e.pipeline import Pipeline  # noqa: E402
from tests.e2e.providers import branch_build  # noqa: E402
from tests.e2e.stacks import base_standin, build_environment  # noqa: E402
from tests.e2e.testbed.bed import Testbed, testbed  # noqa: E402
from tests.e2e.testbed.engine import TEST_LABEL, Engine, run  # noqa: E402
from tests.e2e.testbed.standins import Standin, publish_standin  # noqa: E402
from tests.e2e.variants import Variant, discover_variants, git, render  # noqa: E402

READY_SECONDS = 120.0


@dataclass
class Figures:
    """What one build path measured."""

    cold_build: float = 0.0
    rebuild: float = 0.0
    dependencies_cached: str = "n/a"
    size_mb: float = 0.0
    size_over_base_mb: float = 0.0
    first_answer: float | None = None
    #: What the service last answered (a status or an error) when it never answered 200.
    no_answer: str = ""
    healthy: float | None = None
    stop: float = 0.0
    stop_exit: int = -1


def cold_base(bed: Testbed, stack: str) -> Standin:
    """The stack's stand-in with a digest no build has used: a guaranteed cold cache."""
    return cold_standin(bed, base_standin(stack))


def cold_standin(bed: Testbed, key: str) -> Standin:
    """A stand-in (testbed.standins.STANDIN_PACKAGES key) with a digest no build has used."""
    return publish_standin(bed.engine, bed.registry, key, nonce=uuid.uuid4().hex[:12])


def image_size(engine: Engine, reference: str) -> int:
    """The image's unpacked size: its layers' sizes as `docker history` gives them.

    Not `docker image inspect`'s .Size, which on the containerd image store is the size of
    the compressed blobs.
    """
    sizes = engine.docker("history", "--human=false", "--format", "{{.Size}}", reference)
    return sum(int(size) for size in sizes.stdout.split())


def change_source(repo: Path, stack: str) -> None:
    """A source-only change: one comment line more in the service's main file."""
    facts = stackfacts.stack(stack)
    with (repo / facts.app_entry).open("a") as source:
        source.write(f"{facts.line_comment}benchmark change {uuid.uuid4().hex}\n")


def cached_steps(build_output: str) -> dict[str, bool]:
    """BuildKit's plain progress: each step's name and whether it came from the cache."""
    names: dict[str, str] = {}
    cached: set[str] = set()
    for line in build_output.splitlines():
        if match := re.match(r"#(\d+) (\[[^\]]+\] .*)", line):
            names[match[1]] = match[2]
        elif match := re.match(r"#(\d+) CACHED", line):
            cached.add(match[1])
    return {name: step in cached for step, name in names.items()}


def dependency_layers_cached(build_output: str, stack: str) -> str:
    steps = cached_steps(build_output)
    wanted = {
        name: hit
        for name, hit in steps.items()
        if any(w in name for w in stackfacts.stack(stack).dependency_steps)
    }
    if not wanted:
        return "no dependency step found"
    missed = [short(name) for name, hit in wanted.items() if not hit]
    return "yes" if not missed else f"NO: rebuilt {', '.join(missed)}"


def short(step: str, width: int = 48) -> str:
    """A BuildKit step name cut to WIDTH characters, whitespace runs made single."""
    text = " ".join(step.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def time_to_serve(engine: Engine, image: str, port: int, health_path: str, out: Figures) -> None:
    """Run the image with its own settings: time the first 200, `healthy` and `docker stop`."""
    started = time.monotonic()
    container = containers.start(engine, image, *containers.published(port))
    try:
        url = container.url(port, health_path)
        while out.first_answer is None and time.monotonic() - started < READY_SECONDS:
            try:
                status = containers.get(url, timeout=2)[0]
            except OSError as error:
                out.no_answer = type(error).__name__
                time.sleep(0.05)
                continue
            if status == 200:
                out.first_answer = time.monotonic() - started
            else:
                out.no_answer = f"HTTP {status}"
                time.sleep(0.05)
        if container.inspect()["Config"].get("Healthcheck"):
            while time.monotonic() - started < READY_SECONDS:
                if container.health() == "healthy":
                    out.healthy = time.monotonic() - started
                    break
                time.sleep(0.1)
        out.stop, out.stop_exit = container.stop(timeout=10)
    finally:
        container.remove()


def bench_template(bed: Testbed, variant: Variant, work: Path) -> tuple[Figures, Pipeline]:
    repo = work / "rendered"
    answers = render(variant, repo, bed.registry.host)
    base = cold_base(bed, variant.stack)
    # Only overrides: the pipeline computes the stack's inputs afresh for every run, so
    # the artifact stack's rebuild gets the release of the changed source.
    overrides: dict[str, str] = {}
    if "BUILDER_IMAGE" in build_environment(bed, variant.stack, repo):
        # A cold builder too, so the build stage is not cached.
        overrides["BUILDER_IMAGE"] = cold_standin(
            bed, variant.facts.build_arg_standins["BUILDER_IMAGE"]
        ).reference
    p = Pipeline(
        bed=bed, variant=variant, repo=repo, answers=answers, standin=base, stack_env=overrides
    )
    out = Figures()
    started = time.monotonic()
    build = p.build(branch_build("main"))
    out.cold_build = time.monotonic() - started
    change_source(repo, variant.stack)
    p.commit("A source-only change")
    started = time.monotonic()
    rebuild = p.build(branch_build("main"))
    out.rebuild = time.monotonic() - started
    out.dependencies_cached = dependency_layers_cached(rebuild.run.output, variant.stack)
    bed.engine.docker("pull", "-q", base.reference)
    out.size_mb = image_size(bed.engine, build.image) / 1e6
    out.size_over_base_mb = out.size_mb - image_size(bed.engine, base.reference) / 1e6
    time_to_serve(
        bed.engine, rebuild.image, int(answers["service_port"]), str(answers["health_path"]), out
    )
    return out, p


def bench_hand_written(bed: Testbed, rendered: Pipeline, work: Path) -> Figures:
    stack, answers = rendered.variant.stack, rendered.answers
    context = work / "hand-written"
    shutil.copytree(
        rendered.repo, context, ignore=shutil.ignore_patterns(".git", "build", ".dockerignore")
    )
    facts = rendered.variant.facts
    base = (
        cold_standin(bed, facts.hand_written_base)
        if facts.hand_written_base is not None
        else cold_base(bed, stack)
    )
    inputs = build_environment(bed, stack, rendered.repo)
    url = inputs.get("ARTIFACT_URL", "").replace("{version}", inputs.get("ARTIFACT_VERSION", ""))
    (context / "Dockerfile").write_text(
        facts.hand_written.format(
            base=base.reference,
            data_dir=shlex.quote(str(answers["data_dir"])),
            port=answers["service_port"],
            artifact_url=url,
            artifact_file=url.rpartition("/")[2],
        )
    )
    image = f"{bed.registry.host}/benchmark/hand-written-{stack}:latest"
    out = Figures()

    def build() -> tuple[float, str]:
        started = time.monotonic()
        done = run(
            [
                bed.engine.client,
                "build",
                "--progress=plain",
                "--label",
                TEST_LABEL,
                "-t",
                image,
                ".",
            ],
            cwd=context,
            env=bed.engine.environment(),
            timeout=900,
        )
        return time.monotonic() - started, done.stdout + done.stderr

    out.cold_build, _ = build()
    change_source(context, stack)
    out.rebuild, output = build()
    out.dependencies_cached = dependency_layers_cached_hand_written(output, stack)
    bed.engine.docker("pull", "-q", base.reference)
    out.size_mb = image_size(bed.engine, image) / 1e6
    out.size_over_base_mb = out.size_mb - image_size(bed.engine, base.reference) / 1e6
    time_to_serve(bed.engine, image, int(answers["service_port"]), str(answers["health_path"]), out)
    return out


def dependency_layers_cached_hand_written(build_output: str, stack: str) -> str:
    steps = cached_steps(build_output)
    install = {
        name: hit
        for name, hit in steps.items()
        if stackfacts.stack(stack).hand_written_install in name
    }
    return "yes" if install and all(install.values()) else "no (COPY . comes first)"


def requirements(repo: Path, stack: str) -> list[str]:
    """The third-party packages the sample service declares."""
    declared = stackfacts.stack(stack).dependency_manifest
    if declared is None:
        return []
    manifest = repo / declared
    if manifest.name == "go.mod":  # the module's requirements
        return re.findall(
            r"^(?:require\s+)?\t?([\w.~/-]+\.[\w.~/-]+ v\S+)", manifest.read_text(), re.M
        )
    if manifest.suffix == ".json":  # package.json: the runtime dependencies
        return sorted(json.loads(manifest.read_text()).get("dependencies") or {})
    lines = manifest.read_text().splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def answered(figures: Figures) -> str:
    if figures.first_answer is not None:
        return f"{figures.first_answer:.1f}"
    return f"none in {READY_SECONDS:.0f} s ({figures.no_answer or 'no answer'})"


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def timed(label: str, ours: float | None, theirs: float | None) -> tuple[str, str, str, str]:
    return (label, seconds(ours), seconds(theirs), ratio(ours, theirs))


def print_table(stack: str, ours: Figures, theirs: Figures) -> None:
    rows = [
        timed("cold build, s", ours.cold_build, theirs.cold_build),
        timed("rebuild after a source change, s", ours.rebuild, theirs.rebuild),
        ("dependency layers from cache", ours.dependencies_cached, theirs.dependencies_cached, ""),
        (
            "final image size, MB",
            f"{ours.size_mb:.1f}",
            f"{theirs.size_mb:.1f}",
            ratio(ours.size_mb, theirs.size_mb),
        ),
        (
            "size over the base, MB",
            f"{ours.size_over_base_mb:.2f}",
            f"{theirs.size_over_base_mb:.2f}",
            ratio(ours.size_over_base_mb, theirs.size_over_base_mb),
        ),
        (
            "docker run -> first 200, s",
            answered(ours),
            answered(theirs),
            ratio(ours.first_answer, theirs.first_answer),
        ),
        ("docker run -> healthy, s", seconds(ours.healthy), seconds(theirs.healthy), ""),
        timed("docker stop, s", ours.stop, theirs.stop),
        ("exit code after docker stop", str(ours.stop_exit), str(theirs.stop_exit), ""),
    ]
    header = (f"{stack} stack", "imgscaffold (ci/build.sh)", "hand-written", "ratio")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", action="append", help="only this stack (repeatable)")
    args = parser.parse_args()
    variants = {v.stack: v for v in reversed(discover_variants())}  # one provider per stack
    stacks = args.stack or sorted(variants)
    with testbed() as bed, tempfile.TemporaryDirectory(prefix="bench-image-") as tmp:
        for stack in stacks:
            work = Path(tmp) / stack
            work.mkdir()
            ours, rendered = bench_template(bed, variants[stack], work)
            theirs = bench_hand_written(bed, rendered, work)
            git(rendered.repo, "status", "--short")
            print_table(stack, ours, theirs)
            if not requirements(rendered.repo, stack):
                print(
                    "The sample service has no third-party packages, so the hand-written "
                    "rebuild reinstalls nothing;\nwith real dependencies its uncached "
                    "install step is what a source change costs.\n"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
