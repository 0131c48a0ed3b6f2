"""What the engine tests know about each stack's service; a new stack adds its facts here."""

from __future__ import annotations

from pathlib import Path

SERVICE_PROCESS = {"python": "/app/server.py"}
"""What the service's command line contains (to find it among the container's processes)."""

PACKAGE_LIST = {"python": "python.txt"}
"""The language package list the image carries next to os.txt."""

APP_ENTRY = {"python": Path("app/server.py")}
"""The sample service's main source file (edited to break the service on purpose)."""

BREAK_BEFORE = {"python": "import "}
"""A line start in APP_ENTRY before which a statement that stops the service can go."""

BREAKING_STATEMENT = {"python": "raise SystemExit({message!r})\n"}
"""A statement that makes the service exit with `message` as soon as it starts."""

DEPENDENCY_MANIFEST = {"python": Path("app/requirements.txt")}
"""Where the sample service declares its third-party packages."""
