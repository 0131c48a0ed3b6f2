"""The documentation site builds strictly, and its reference misses nothing."""

from __future__ import annotations

import ast
import html
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from imgscaffold import template
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_hooks"))
import reference  # noqa: E402

SECTIONS = ("## Why it matters", "## In the template", "## Checked by", "## Adopting it")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def page_text(site: Path, page: str) -> str:
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def test_every_question_is_in_the_reference(site: Path) -> None:
    text = page_text(site, "reference/questions")
    names = [q.name for q in template.questions(ROOT)]
    assert len(names) >= 15
    missing = [name for name in names if name not in text]
    assert not missing, f"questions missing from the reference: {missing}"


def test_every_command_and_option_is_in_the_reference(site: Path) -> None:
    text = page_text(site, "reference/cli")
    commands = reference.command_names()
    assert {"imgscaffold new", "imgscaffold update", "imgscaffold status"} <= set(commands)
    missing = [name for name in commands if name not in text]
    assert not missing, f"commands missing from the reference: {missing}"
    help_text = run_cli("new", "--help").stdout
    options = set(re.findall(r"(--[a-z][a-z-]+)", help_text)) - {"--help"}
    assert options, help_text
    assert not [o for o in options if o not in text], "options of `new` missing"


def test_the_command_reference_shows_what_help_readers_read(site: Path) -> None:
    markdown = reference.cli()
    text = page_text(site, "reference/cli")
    for shown in (markdown, text):
        assert "\\|" not in shown
        assert "list[" not in shown
        assert "<path>" not in shown.lower()
    # No option or argument is shown with a <type> after it.
    names = re.findall(r"^\| `([^`]+)` \|", markdown, re.MULTILINE)
    assert names and not [name for name in names if "<" in name], names
    assert "--format [text|json|sarif|markdown|html]" in text
    assert "--from-file FILE" in text
    assert "PATH..." in names and "DEST" in names
    assert "Usage: imgscaffold new [OPTIONS] [DEST]" in text
    assert "Usage: imgscaffold check [OPTIONS] [PATH]..." in text
    # Help text that names a placeholder keeps it, rather than passing it on as an HTML tag.
    assert "on the branch imgscaffold/template-<version>." in text


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


def _demo_app() -> typer.Typer:
    demo = typer.Typer(add_completion=False)

    @demo.command()
    def paint(
        targets: Annotated[list[Path], typer.Argument(help="What to paint.")],
        colour: Annotated[Colour, typer.Option(help="Which colour.")] = Colour.RED,
        coats: Annotated[int, typer.Option("--coats", "-c", min=1, help="How many.")] = 1,
        log: Annotated[Path | None, typer.Option(metavar="FILE", help="Log to FILE.")] = None,
        dry: Annotated[bool, typer.Option("--dry/--wet", help="Pretend.")] = False,
    ) -> None:
        """Paint things."""

    @demo.command()
    def copy(
        dest: Annotated[Path, typer.Argument(metavar="DEST", help="Where.")],
        sources: Annotated[list[Path] | None, typer.Argument(metavar="SRC...")] = None,
    ) -> None:
        """Copy things."""

    return demo


def test_the_command_reference_follows_the_declared_metavars() -> None:
    markdown = reference.cli(_demo_app())
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.*) \|$", markdown, re.MULTILINE))
    assert set(rows) == {
        "TARGETS...",
        "--colour [red|blue]",
        "-c, --coats COATS",
        "--log FILE",
        "--dry / --wet",
        "DEST",
        "SRC...",
    }, rows
    assert rows["TARGETS..."] == "What to paint. [required]"
    assert "[default: red]" in rows["--colour [red|blue]"]
    assert "Usage: imgscaffold paint [OPTIONS] TARGETS..." in markdown
    assert "Usage: imgscaffold copy [OPTIONS] DEST [SRC]..." in markdown


def test_every_check_is_in_the_reference(site: Path) -> None:
    from imgscaffold.check.rules import catalogue

    text = page_text(site, "reference/checks")
    ids = [rule.id for rule in catalogue()]
    assert ids
    missing = [rule_id for rule_id in ids if rule_id not in text]
    assert not missing, f"checks missing from the reference: {missing}"


def test_every_check_links_to_its_guide_page(site: Path) -> None:
    from imgscaffold.check.rules import catalogue

    for rule in catalogue():
        slug = reference.guide_slug(rule.row)
        assert rule.url.rstrip("/").endswith(f"guide/{slug}"), (rule.id, rule.url)
        assert (site / "guide" / slug / "index.html").is_file()
        assert rule.id in page_text(site, f"guide/{slug}")


def test_every_image_setting_is_in_the_reference(site: Path) -> None:
    text = page_text(site, "reference/environment")
    names = reference.setting_names()
    assert "PORT" in names
    assert not [name for name in names if name not in text]


def test_tag_policy_examples_come_from_the_rendered_script(site: Path) -> None:
    text = page_text(site, "reference/tag-policy")
    # The backport row: computed by ci/lib.sh's release_tags, not typed in.
    assert re.search(r"v1\.1\.2\s+1\.1\.2\s+1\.1\s", text), text


def test_the_guide_has_one_page_per_checklist_point() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = re.findall(r"^ +- [^:]+: (guide/[0-9]{2}-[a-z0-9-]+[.]md)$", nav, re.MULTILINE)
    assert pages == [f"guide/{reference.guide_slug(row)}.md" for row in range(1, 16)]
    for page in pages:
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        for heading in (
            "## Why it matters",
            "## In the template",
            "## Checked by",
            "## Adopting it",
        ):
            assert heading in text, (page, heading)
        row = int(Path(page).stem[:2])
        assert f"<!-- reference: checks-row-{row} -->" in text


def test_an_unknown_reference_section_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown reference section"):
        reference.expand("<!-- reference: nothing -->")


def test_no_reference_marker_is_left_unexpanded(site: Path) -> None:
    left = [
        str(page.relative_to(site))
        for page in site.rglob("*.html")
        if "<!-- reference:" in page.read_text(encoding="utf-8")
    ]
    assert not left, f"pages with unexpanded reference markers: {left}"


# ---- the docs extra ----

DOCS_COMMAND = "pip install '.[docs]' && mkdocs build --strict"


def _project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, Any] = tomllib.load(file)["project"]
    return project


def _requirements(extra: str | None = None) -> list[Requirement]:
    """The project's requirements, or one extra's, with `imgscaffold[...]` resolved."""
    project = _project()
    if extra is None:
        declared = project["dependencies"]
    else:
        extras = project.get("optional-dependencies", {})
        assert extra in extras, f"pyproject.toml has no {extra!r} extra"
        declared = extras[extra]
    found = []
    for line in declared:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) == "imgscaffold":
            for own in sorted(requirement.extras):
                found += _requirements(own)
        else:
            found.append(requirement)
    return found


def _installed_closure(requirements: list[Requirement]) -> set[str]:
    """The distributions these requirements install, read from the installed metadata."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for line in importlib.metadata.requires(requirement.name) or ():
            nested = Requirement(line)
            if nested.marker is None or nested.marker.evaluate({"extra": ""}):
                todo.append(nested)
    return seen


class _PythonName(str):
    """A `!!python/name:x.y` of mkdocs.yml: an object that mkdocs imports."""


class _MkDocsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without importing what it names."""


_MkDocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/name:", lambda _loader, suffix, _node: _PythonName(suffix)
)


def _python_names(value: object) -> list[str]:
    if isinstance(value, _PythonName):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [name for item in value for name in _python_names(item)]
    return []


def _modules_the_build_imports() -> dict[str, str]:
    """Top-level module -> where the build needs it: the hooks, the theme, the extensions."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), _MkDocsLoader)
    needed: dict[str, str] = {"mkdocs": "the mkdocs command"}
    themes = {e.name: e for e in importlib.metadata.entry_points(group="mkdocs.themes")}
    theme = config["theme"]["name"]
    assert theme in themes, f"theme {theme!r} is not installed"
    needed[themes[theme].module.split(".")[0]] = f"theme {theme}"
    builtin = {e.name for e in importlib.metadata.entry_points(group="markdown.extensions")}
    for entry in config.get("markdown_extensions", []):
        name = entry if isinstance(entry, str) else next(iter(entry))
        module = "markdown" if name in builtin else name.split(".")[0]
        needed[module] = f"markdown extension {name}"
    for name in _python_names(config):
        needed.setdefault(name.split(".")[0], f"mkdocs.yml names {name}")
    sources = [ROOT / hook for hook in config.get("hooks", [])]
    sources += sorted((ROOT / "src" / "imgscaffold").rglob("*.py"))
    for source in sources:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                needed.setdefault(name.split(".")[0], str(source.relative_to(ROOT)))
    return needed


def test_the_docs_extra_brings_everything_the_build_imports() -> None:
    closure = _installed_closure(_requirements() + _requirements("docs"))
    providers = importlib.metadata.packages_distributions()
    needed = _modules_the_build_imports()
    assert {"mkdocs", "material", "pymdownx", "jinja2", "typer"} <= set(needed), needed
    missing = {}
    for module, where in sorted(needed.items()):
        if module in sys.stdlib_module_names or module == "imgscaffold":
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists, f"no installed distribution provides {module!r} ({where})"
        if not dists & closure:
            missing[module] = where
    assert not missing, f"`pip install '.[docs]'` does not bring: {missing}"


def test_the_test_extra_can_build_the_docs() -> None:
    docs = {canonicalize_name(r.name) for r in _requirements("docs")}
    assert docs <= {canonicalize_name(r.name) for r in _requirements("test")}


def test_the_docs_say_how_to_build_the_site() -> None:
    for page in ("README.md", "docs/contributing.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert DOCS_COMMAND in text, page
    assert "contributing.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
