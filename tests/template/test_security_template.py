"""Security properties of the template (issue 16): traces, logs, limits, topic policy, checkov."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_traces_never_record_handler_return_values(sam_template: dict[str, Any]) -> None:
    env = sam_template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    for name, resource in sam_template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            own = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert own.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "false") == "false", name


def test_no_handler_turns_response_capture_back_on() -> None:
    sources = [*ROOT.glob("functions/*/app.py"), *ROOT.glob("layers/common/vs_common/*.py")]
    assert sources
    for source in sources:
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"capture_response\s*=\s*True", text), source
