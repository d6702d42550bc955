"""The README's CI step, run unchanged against the seeded demo: its token command, then its script, reach a real
gate decision (allow, or deny with the reasons), never an error."""

import io
import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
README = Path(__file__).resolve().parents[2] / "README.md"


def blocks(text):
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def readme_parts():
    text = README.read_text()
    token = next(b for b in blocks(text) if "create_api_token ci-credit-line" in b)
    script = next(b for b in blocks(text) if b.startswith("#!/usr/bin/env bash"))
    example = re.search(r"`\./ci/gatehouse-gate\.sh ([^`]+)`", text).group(1)
    return token, script, shlex.split(example)


def test_the_readme_ci_step_reaches_a_real_decision_against_the_demo(live_server, tmp_path):
    call_command("seed_examples", verbosity=0)
    token_command, script, arguments = readme_parts()
    words = shlex.split(token_command.replace("\\\n", " "))
    assert words[:3] == ["python", "manage.py", "create_api_token"]
    out = io.StringIO()
    call_command(*words[2:], stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    (tmp_path / "gatehouse-gate.sh").write_text(script)
    result = subprocess.run(
        ["bash", str(tmp_path / "gatehouse-gate.sh"), *arguments], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={"PATH": "/usr/bin:/bin", "GATEHOUSE_URL": live_server.url, "GATEHOUSE_TOKEN": secret})
    assert (tmp_path / "gate-receipt.json").exists(), result.stderr
    verdict = json.loads((tmp_path / "gate-receipt.json").read_text())
    assert verdict["model"] == "credit-line-decisioning" and verdict["stage"] == arguments[1]
    assert verdict["decision"] in ("allow", "deny") and verdict["receipt"]
    codes = {r["code"] for r in verdict["reasons"]}
    assert "internal_error" not in codes and "unknown_model" not in codes and "no_launch" not in codes
    if verdict["decision"] == "allow":
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1 and "deny:" in result.stderr
