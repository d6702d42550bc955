"""A real OpenID Connect provider (django-oauth-toolkit) on a loopback port, and a way to sign in at it.

Imported by the conftest of each test folder that needs it (single sign-on and browser tests)."""

import hashlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[3]
CLIENT_ID, CLIENT_SECRET = "gatehouse-tests", "a-test-client-secret"
REDIRECTS = "http://testserver/sso/callback/ http://127.0.0.1/sso/callback/"

SETUP = f"""
import django; django.setup()
from oauth2_provider.models import Application
Application.objects.create(name="Gatehouse", client_id={CLIENT_ID!r}, client_secret={CLIENT_SECRET!r},
    hash_client_secret=False, client_type="confidential", authorization_grant_type="authorization-code",
    redirect_uris={REDIRECTS!r}, skip_authorization=True, algorithm="RS256")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provider:
    def __init__(self, base: str, db: Path, log: Path):
        self.base, self.db, self.log = base, db, log
        self.issuer = f"{base}/o"

    def _sql(self, statement, params=()):
        with sqlite3.connect(self.db) as conn:
            return conn.execute(statement, params).fetchall()

    def add_person(self, username, password, *, groups=(), first="", last="", email=""):
        salt = hashlib.sha256(username.encode()).hexdigest()[:12]
        digest = hashlib.md5((salt + password).encode()).hexdigest()  # noqa: S324 - the provider's test hasher
        self._sql("INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,"
                  " is_active, date_joined) VALUES (?, 0, ?, ?, ?, ?, 0, 1, datetime('now'))",
                  (f"md5${salt}${digest}", username, first, last, email))
        self.set_groups(username, groups)

    def set_groups(self, username, groups):
        (user_id,), = self._sql("SELECT id FROM auth_user WHERE username = ?", (username,))
        self._sql("DELETE FROM auth_user_groups WHERE user_id = ?", (user_id,))
        for name in groups:
            self._sql("INSERT OR IGNORE INTO auth_group (name) VALUES (?)", (name,))
            (group_id,), = self._sql("SELECT id FROM auth_group WHERE name = ?", (name,))
            self._sql("INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, ?)", (user_id, group_id))

    def age_last_login(self, username, seconds):
        """As if the person's session at the provider began ``seconds`` ago."""
        self._sql("UPDATE auth_user SET last_login = datetime('now', ?) WHERE username = ?",
                  (f"-{int(seconds)} seconds", username))

    def sign_in(self, authorize_url, username, password, *, session=None, stop_at="http://testserver/"):
        """Drive the provider as a browser would: log in if asked, and return the redirect back to Gatehouse."""
        browser = session or requests.Session()
        url = authorize_url
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=10)
            if response.status_code in (301, 302, 303):
                url = urljoin(url, response.headers["Location"])
                if url.startswith(stop_at):
                    return url
                continue
            if "csrfmiddlewaretoken" in response.text:
                token = unescape(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text).group(1))
                response = browser.post(url, data={"csrfmiddlewaretoken": token, "username": username,
                                                   "password": password,
                                                   "next": re.search(r"next=([^&]+)", url) and
                                                   requests.utils.unquote(re.search(r"next=([^&]+)", url).group(1))},
                                        headers={"Referer": url}, allow_redirects=False, timeout=10)
                assert response.status_code == 302, response.text[:500]
                url = urljoin(url, response.headers["Location"])
                if url.startswith(stop_at):
                    return url
                continue
            raise AssertionError(f"unexpected provider answer {response.status_code}: {response.text[:300]}\n"
                                 f"{self.log.read_text()[-3000:]}")
        raise AssertionError("the provider kept redirecting")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("oidc-provider")
    port = _free_port()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.sso.provider.settings", "PYTHONPATH": str(ROOT),
           "PROVIDER_DB": str(workdir / "provider.sqlite3"), "PROVIDER_ISSUER": f"{base}/o",
           "PROVIDER_RSA_KEY": key}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    subprocess.run([sys.executable, "-c", SETUP], env=env, cwd=ROOT, check=True, timeout=60)
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "tests.sso.provider.wsgi", "-b", f"127.0.0.1:{port}",
                               "-w", "1", "--threads", "4", "--log-level", "warning"],
                              env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/o/.well-known/openid-configuration", timeout=5).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        server.kill()
        raise RuntimeError((workdir / "server.log").read_text())
    yield Provider(base, workdir / "provider.sqlite3", workdir / "server.log")
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture
def sso(settings, oidc_provider):
    """Gatehouse configured for the test provider, with local passwords still on."""
    from django.core.cache import cache

    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_ROLE_GROUPS = {"risk-compliance": "COMPLIANCE", "risk-mrm": "MODEL_RISK", "ds": "DATA_SCIENCE",
                                 "legal": "LEGAL"}
    settings.OIDC_PROVIDER_NAME = "Test IdP"
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "governance.kernel.sso.Backend"]
    cache.clear()
    yield oidc_provider
    cache.clear()
