"""No default secrets in production: Gatehouse refuses to start on them, and `check --deploy` names them.

The settings are loaded as production in a fresh interpreter: DEBUG off, GATEHOUSE_DEV unset."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.kernel.checks import production_problems
from governance.kernel.signing import private_key_pem

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ("DEBUG", "GATEHOUSE_DEV", "SECRET_KEY", "SECRET_KEY_FILE", "GATE_SIGNING_KEY", "GATE_SIGNING_KEY_FILE",
          "GATE_RETIRED_KEYS", "GATE_RETIRED_KEYS_FILE", "AUDIT_ANCHOR_DIR",
          "DJANGO_ALLOW_ASYNC_UNSAFE")  # set by the browser tests for their own process only


def production(tmp_path, **env) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in CONFIG}
    return {**base, "DJANGO_SETTINGS_MODULE": "config.settings", "ALLOWED_HOSTS": "gatehouse.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}", **env}


def run(args, env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def real_keys(tmp_path) -> dict:
    key_file = tmp_path / "receipt-signing.pem"
    key_file.write_text(private_key_pem(Ed25519PrivateKey.generate()))
    return {"SECRET_KEY": secrets.token_urlsafe(50), "GATE_SIGNING_KEY_FILE": str(key_file),
            "AUDIT_ANCHOR_DIR": str(tmp_path)}


def test_the_web_app_refuses_to_start_without_keys(tmp_path):
    result = run(["-c", "import config.wsgi"], production(tmp_path))
    assert result.returncode != 0
    assert "refuses to start" in result.stderr
    assert "SECRET_KEY is missing or is the development key" in result.stderr
    assert "No receipt signing key is configured" in result.stderr


def test_the_development_secret_key_is_refused_too(tmp_path):
    env = production(tmp_path, **{**real_keys(tmp_path),
                                  "SECRET_KEY": "gatehouse-local-development-key-change-me-in-production-0000"})
    result = run(["-c", "import config.wsgi"], env)
    assert result.returncode != 0 and "development key" in result.stderr
    assert "signing key" not in result.stderr


def test_runserver_refuses_to_start_without_keys(tmp_path):
    result = run(["manage.py", "runserver", "127.0.0.1:0", "--noreload"], production(tmp_path))
    assert result.returncode != 0 and "refuses to start" in result.stderr


def test_the_web_app_starts_with_keys_read_from_files(tmp_path):
    keys = real_keys(tmp_path)
    secret_file = tmp_path / "secret-key"
    secret_file.write_text(keys.pop("SECRET_KEY"))
    result = run(["-c", "import config.wsgi"], production(tmp_path, SECRET_KEY_FILE=str(secret_file), **keys))
    assert result.returncode == 0, result.stderr


def test_check_deploy_reports_default_secrets_and_is_clean_with_real_ones(tmp_path):
    refused = run(["manage.py", "check", "--deploy"], production(tmp_path))
    assert refused.returncode != 0
    assert "gatehouse.E001" in refused.stderr and "gatehouse.E002" in refused.stderr
    assert "gatehouse.W001" in refused.stderr, "no anchor directory is worth a warning"
    clean = run(["manage.py", "check", "--deploy"], production(tmp_path, **real_keys(tmp_path)))
    assert clean.returncode == 0, clean.stderr
    assert "gatehouse." not in clean.stdout + clean.stderr


def test_development_mode_needs_no_configuration(settings):
    settings.DEBUG, settings.GATEHOUSE_DEV = False, True
    settings.SECRET_KEY, settings.GATE_SIGNING_KEY = settings.DEVELOPMENT_SECRET_KEY, ""
    assert production_problems() == []
    settings.GATEHOUSE_DEV = False
    assert [code for code, _ in production_problems()] == ["gatehouse.E001", "gatehouse.E002"]


def test_an_unreadable_signing_key_is_named(settings):
    settings.DEBUG, settings.GATEHOUSE_DEV = False, False
    settings.SECRET_KEY, settings.GATE_SIGNING_KEY = "x" * 60, "not a key"
    assert [code for code, _ in production_problems()] == ["gatehouse.E003"]


def test_the_demo_says_it_runs_in_development_mode():
    from examples.management.commands.demo import Command

    assert "development mode" in Command().tour("127.0.0.1:8000")


@pytest.mark.django_db
def test_signed_in_pages_are_never_stored(client, make_user):
    user = make_user("dana")
    client.force_login(user)
    assert "no-store" in client.get("/")["Cache-Control"]
    client.logout()
    assert "no-store" not in client.get("/api/v1/keys/").get("Cache-Control", "")  # public, anonymous
