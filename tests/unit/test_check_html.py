"""The fleet page of `imgscaffold check --format html`: self-contained, and it works in a "
"browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from imgscaffold.check.reports import render
from imgscaffold.check.rule import Finding, Severity
from imgscaffold.check.runner import Report, check_paths

CORPUS = Path(__file__).resolve().parents[1] / "check_corpus"
REQUIRE_ENGINE = "IMGSCAFFOLD_REQUIRE_ENGINE"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reports = check_paths(sorted(p for p in CORPUS.iterdir() if p.is_dir())[:12], hadolint=False)
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render(reports, "html", fail_on=Severity.WARNING), encoding="utf-8")
    return path


def test_the_page_loads_nothing_from_elsewhere(page: Path) -> None:
    text = page.read_text()
    assert "default-src 'none'" in text
    # Nothing the browser fetches by itself: no src, no <link>, no CSS url(), no @import.
    assert not re.search(r"\ssrc\s*=", text)
    assert "<link" not in text and "url(" not in text and "@import" not in text
    # The only URLs are links a reader may click (the guide pages).
    for href in re.findall(r'href="([^"]*)"', text):
        assert href.startswith("https://imgscaffold.github.io/imgscaffold/guide/"), href


def test_the_page_escapes_what_it_shows(tmp_path: Path) -> None:
    repo = tmp_path / "<img onerror=alert(1)>"
    repo.mkdir()
    (repo / "Dockerfile").write_text("FROM a:1\nUSER <b>x</b>\n")
    text = render(check_paths([repo], hadolint=False), "html", fail_on=Severity.WARNING)
    assert "<img onerror" not in text and "&lt;img onerror=alert(1)&gt;" in text


def _finding_report(*messages: str) -> str:
    findings = [
        Finding(
            rule="DL3008",
            severity=Severity.WARNING,
            message=message,
            path="Dockerfile",
            line=n,
            source="hadolint",
            fix="Pin it: `apt-get install curl=8.5.0-2`.",
        )
        for n, message in enumerate(messages, 1)
    ]
    report = Report(name="orders", target="/src/orders", findings=findings, ran=["IMG001"])
    return render([report], "html", fail_on=Severity.WARNING)


def _message_cells(text: str) -> list[str]:
    body = text.split('id="findings"', 1)[1].split("</table>", 1)[0]
    cells = r"<tr[^>]*>" + r"<td[^>]*>(.*?)</td>" * 6 + "</tr>"
    return [row[4] for row in re.findall(cells, body, re.S)]


def test_the_page_shows_the_verdict_and_repositories_before_the_rules(page: Path) -> None:
    text = page.read_text()
    places = [text.index(marker) for marker in ('id="verdict"', 'id="targets"', 'id="rules"')]
    assert places == sorted(places)
    # The long rule table comes last, after the findings it sums up.
    assert re.findall(r"<h2>(.*?)</h2>", text) == ["Repositories", "Findings", "Rules"]


def test_the_page_lists_the_rules_by_id(page: Path) -> None:
    text = page.read_text()
    body = text.split('id="rules"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    ids = re.findall(r"<tr><td><a [^>]*>([^<]+)</a>", body)
    assert len(ids) > 30
    assert ids == sorted(ids)


def test_the_page_keeps_its_content_security_policy(page: Path) -> None:
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    ) in page.read_text()


def test_finding_messages_render_their_markdown() -> None:
    text = _finding_report(
        "Instead of `apt-get install <package>` use `apt-get install <package>=<version>`",
        "Pin *every* package, see [the guide](https://imgscaffold.github.io/imgscaffold/guide/)",
    )
    first, second = _message_cells(text)
    assert first == (
        "Instead of <code>apt-get install &lt;package&gt;</code> use "
        "<code>apt-get install &lt;package&gt;=&lt;version&gt;</code>"
    )
    assert "<em>every</em>" in second
    assert '<a href="https://imgscaffold.github.io/imgscaffold/guide/">the guide</a>' in second
    assert "<code>apt-get install curl=8.5.0-2</code>" in text  # the fix column too


def test_finding_messages_let_no_html_through() -> None:
    text = _finding_report(
        "<script>alert(1)</script> and <b>bold</b>",
        "![tracker](https://example.com/pixel.png) [click](javascript:alert(1))",
    )
    first, second = _message_cells(text)
    assert first == "&lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt;"
    assert "<script>alert" not in text and "<b>" not in text
    assert "<img" not in second and 'href="javascript:' not in second
    assert not re.search(r"\ssrc\s*=", text)


def _chromium() -> str:
    found = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if found is None:
        reason = "chromium is not installed (apt-get install chromium)"
        if os.environ.get(REQUIRE_ENGINE) == "1":
            pytest.fail(f"{REQUIRE_ENGINE}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def _dump_dom(chromium: str, page: Path, tmp_path: Path) -> str:
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            # The driver page reads the report in an iframe: both are files.
            "--allow-file-access-from-files",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _rows(dom: str, table: str) -> list[str]:
    body = dom.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr(?: [^>]*)?>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)


def test_the_page_renders_sorts_and_filters(page: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    dom = _dump_dom(chromium, page, tmp_path)
    assert "<h1>imgscaffold check</h1>" in dom
    rows = _rows(dom, "findings")
    assert len(rows) > 20
    # A driver page loads the report in the same origin, clicks a header, types a
    # filter, and writes what it sees into its own DOM for --dump-dom.
    driver = tmp_path / "driver.html"
    driver.write_text(
        f"""<!DOCTYPE html><html><body><pre id="out"></pre>
<iframe id="f" src="{page.name}"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var d = this.contentDocument, out = [];
  var table = d.getElementById('rules');
  table.querySelectorAll('th')[3].click(); table.querySelectorAll('th')[3].click();
  var failing = Array.prototype.map.call(table.tBodies[0].rows, function (r) {{
    return parseInt(r.cells[3].textContent, 10); }});
  out.push('sorted=' + JSON.stringify(failing));
  var filter = d.getElementById('filter');
  filter.value = 'IMG008'; filter.dispatchEvent(new Event('input'));
  var shown = Array.prototype.filter.call(d.querySelectorAll('#findings tbody tr'),
    function (r) {{ return !r.hidden; }});
  out.push('shown=' + shown.length + ' label=' + d.getElementById('shown').textContent);
  out.push('all-match=' + shown.every(function (r) {{
    return r.textContent.indexOf('IMG008') >= 0; }}));
  document.getElementById('out').textContent = out.join('\\n');
}});
</script></body></html>""",
        encoding="utf-8",
    )
    shutil.copy(page, tmp_path / page.name)
    dom = _dump_dom(chromium, driver, tmp_path)
    result = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert result is not None and result.group(1), dom[:2000]
    lines = dict(line.split("=", 1) for line in result.group(1).split("\n") if "=" in line)
    failing = [int(n) for n in lines["sorted"].strip("[]").split(",")]
    assert failing == sorted(failing, reverse=True) and failing[0] > 0
    shown = int(lines["shown"].split()[0])
    assert 0 < shown < len(rows)
    assert lines["shown"].endswith(f"label={shown}")
    assert lines["all-match"] == "true"
