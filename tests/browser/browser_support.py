"""Constants the browser tier's fixtures and tests share."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("VSENT_CHROMIUM", "/usr/bin/chromium"))
# Screenshots (of failures, and of the job page for the README) land here; git-ignored.
OUTPUT = ROOT / "test-output" / "browser"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
