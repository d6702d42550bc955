"""Every secret setting can be read from a file named by ``NAME_FILE`` (container secrets), and setting both
``NAME`` and ``NAME_FILE`` is refused at start-up rather than one of them silently winning."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (variable, value written to the file, expression over `settings` that must give back the secret part)
SECRETS = [
    ("SECRET_KEY", "k" * 60, "settings.SECRET_KEY"),
    ("DATABASE_URL", "postgres://gatehouse:db-pw@db.internal:5432/gatehouse",
     "settings.DATABASES['default']['PASSWORD']"),
    ("EMAIL_URL", "smtp://mailer:mail-pw@mail.internal:587?tls=1", "settings.EMAIL_HOST_PASSWORD"),
    ("OIDC_CLIENT_SECRET", "oidc-secret", "settings.OIDC_RP_CLIENT_SECRET"),
    ("MLFLOW_TRACKING_TOKEN", "mlflow-token", "settings.MLFLOW_TRACKING_TOKEN"),
    ("MLFLOW_WEBHOOK_SECRET", "webhook-secret", "settings.MLFLOW_WEBHOOK_SECRET"),
    ("GATE_SIGNING_KEY", "signing-key-body", "settings.GATE_SIGNING_KEY"),
    ("GATE_RETIRED_KEYS", "retired-key-body", "settings.GATE_RETIRED_KEYS"),
    ("CELERY_BROKER_URL", "redis://:broker-pw@broker.internal:6379/0", "settings.CELERY_BROKER_URL"),
    ("CELERY_RESULT_BACKEND", "redis://:result-pw@broker.internal:6379/1", "settings.CELERY_RESULT_BACKEND"),
]
EXPECTED = {"DATABASE_URL": "db-pw", "EMAIL_URL": "mail-pw"}


def load_settings(expression: str, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items()
             if not any(key in (name, f"{name}_FILE") for name, _, _ in SECRETS)}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    code = f"import json; from django.conf import settings; print(json.dumps({expression}))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("name", "value", "expression"), SECRETS, ids=[name for name, _, _ in SECRETS])
def test_every_secret_can_be_read_from_a_file(tmp_path, name, value, expression):
    secret_file = tmp_path / name.lower()
    secret_file.write_text(value + "\n")  # the trailing newline editors and `echo` add is not part of it

    result = load_settings(expression, **{f"{name}_FILE": str(secret_file)})

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED.get(name, value)


def test_a_broker_read_from_a_file_turns_eager_tasks_off(tmp_path):
    secret_file = tmp_path / "broker"
    secret_file.write_text("redis://:broker-pw@broker.internal:6379/0")

    result = load_settings("settings.CELERY_TASK_ALWAYS_EAGER", CELERY_BROKER_URL_FILE=str(secret_file))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) is False


@pytest.mark.parametrize("name", [name for name, _, _ in SECRETS])
def test_setting_both_a_secret_and_its_file_is_refused(tmp_path, name):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-the-file")

    result = load_settings("settings.DEBUG", **{name: "from-the-variable", f"{name}_FILE": str(secret_file)})

    assert result.returncode != 0
    assert f"Both {name} and {name}_FILE are set; set only one of them." in result.stderr


def test_an_unreadable_secret_file_is_named(tmp_path):
    missing = tmp_path / "nowhere"

    result = load_settings("settings.SECRET_KEY", SECRET_KEY_FILE=str(missing))

    assert result.returncode != 0
    assert f"SECRET_KEY_FILE names {str(missing)!r}, which cannot be read" in result.stderr
