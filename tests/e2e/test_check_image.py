"""`imgscaffold check --image` on images built by a real engine, good and bad."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from imgscaffold.check.runner import check_image
from imgscaffold.errors import UsageError
from tests.e2e.testbed.engine import Engine
from tests.e2e.testbed.standins import import_standin
from tests.helpers import BAD_DOCKERFILE, GOOD_DOCKERFILE

pytestmark = pytest.mark.engine


def test_image_on_a_real_engine(engine: Engine, tmp_path: Path) -> None:
    base = import_standin(engine, "python")
    tags = []
    try:
        results = {}
        for name, text in (("good", GOOD_DOCKERFILE), ("bad", BAD_DOCKERFILE)):
            context = tmp_path / name
            context.mkdir()
            (context / "Dockerfile").write_text(text.format(base=base))
            tag = f"imgscaffold-check-test/{name}:{uuid.uuid4().hex[:8]}"
            engine.docker("build", "-q", "-t", tag, str(context), timeout=300)
            tags.append(tag)
            report = check_image(tag, docker=str(engine.client))
            results[name] = sorted({f.rule for f in report.findings})
        assert results["good"] == []
        assert results["bad"] == [
            "IMG501",
            "IMG508",
            "IMG510",
            "IMG511",
            "IMG512",
            "IMG514",
            "IMG601",
            "IMG608",
        ]
        with pytest.raises(UsageError, match="not on the local engine"):
            check_image("imgscaffold-check-test/missing:none", docker=str(engine.client))
    finally:
        for tag in tags:
            engine.docker("rmi", "--force", tag, check=False)
