"""The corpus of real-world Dockerfile shapes: exact findings, and no crash on any input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imgscaffold.check.runner import check_path
from imgscaffold.check.syntax import parse

CORPUS = Path(__file__).resolve().parents[1] / "check_corpus"
ENTRIES = sorted(p for p in CORPUS.iterdir() if p.is_dir())


def test_the_corpus_is_large_enough() -> None:
    dockerfiles = [p for e in ENTRIES for p in e.rglob("*") if "ockerfile" in p.name]
    assert len(ENTRIES) >= 30 and len(dockerfiles) >= 30


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_expected_findings(entry: Path) -> None:
    expected = json.loads((entry / "expected.json").read_text())
    report = check_path(entry, hadolint=False)
    found = sorted(f"{f.rule} {f.location}".strip() for f in report.findings)
    assert found == expected


def test_no_crash_on_any_bytes(tmp_path: Path) -> None:
    samples = [
        b"",
        b"\x00\x01\x02",
        os.urandom(4096),
        b"\xff\xfe" + "FROM a:1\n".encode("utf-16-le"),
        b"FROM a:1\nRUN <<EOF\n",
        b"FROM a:1\nRUN \\",
        b"FROM a:1\nHEALTHCHECK\nUSER\nCMD [\nENTRYPOINT [1, 2]\nVOLUME\nLABEL\nARG\nENV\n",
        b"# escape=x\nFROM ${}:${:-}\nCOPY --from= a\n",
        "FROM \u00e9t\u00e9:1\nUSER \u00e9\n".encode(),
    ]
    for number, data in enumerate(samples):
        repo = tmp_path / str(number)
        repo.mkdir()
        (repo / "Dockerfile").write_bytes(data)
        (repo / ".dockerignore").write_bytes(data)
        (repo / "compose.yaml").write_bytes(data)
        (repo / ".gitlab-ci.yml").write_bytes(data)
        report = check_path(repo, hadolint=False)
        assert report.ran
        parse(data.decode("utf-8", errors="replace"))
