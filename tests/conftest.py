"""The whole suite: the repository's root is importable, so tests import `tests.helpers` and
`tests.e2e.*` under any pytest import mode.

Nothing here touches an engine: the engine tests' set-up lives in tests/e2e/conftest.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
