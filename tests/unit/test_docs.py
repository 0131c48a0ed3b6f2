"""The documentation site builds strictly, and its reference misses nothing."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imgscaffold import template

from .conftest import run_cli

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


def test_every_check_is_in_the_reference(site: Path) -> None:
    from imgscaffold.checks import catalogue

    text = page_text(site, "reference/checks")
    ids = [rule.id for rule in catalogue()]
    assert ids
    missing = [rule_id for rule_id in ids if rule_id not in text]
    assert not missing, f"checks missing from the reference: {missing}"


def test_every_check_links_to_its_guide_page(site: Path) -> None:
    from imgscaffold.checks import catalogue

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
