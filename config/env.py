"""Small helpers that read configuration from the environment.

Only the two URL forms Gatehouse documents are understood; anything else is a
configuration error raised at start-up rather than a surprise at first use.
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_secret(name: str, default: str = "") -> str:
    """``NAME``, or the contents of the file named by ``NAME_FILE`` (container secrets); both set is refused,
    since either choice would silently ignore a value someone configured."""
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if value and path:
        raise ImproperlyConfigured(f"Both {name} and {name}_FILE are set; set only one of them.")
    if value:
        return value
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE names {path!r}, which cannot be read: {error}") from None
    return default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_url(url: str, base_dir: Path) -> dict:
    """Translate sqlite:///relative.db, sqlite:////abs.db or postgres://user:pw@host:port/name."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw = unquote(parts.path)
        # sqlite:///db.sqlite3 -> "/db.sqlite3" (relative); sqlite:////tmp/x -> "//tmp/x" (absolute)
        path = raw[1:] if raw.startswith("/") else raw
        name = path if os.path.isabs(path) else str(base_dir / path)
        if path in ("", ":memory:"):
            name = ":memory:"
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # BEGIN IMMEDIATE serialises writers up front, so read-then-write services
            # (the audit chain, sign-offs) cannot interleave on the embedded database.
            # Write-ahead log with NORMAL sync: readers never wait for the writer, and a commit does not fsync
            # (the log is synced at checkpoints; a power cut may lose the last commits, never corrupt the file).
            # Deploy tools poll the gate and each call is a row: with a rollback journal every poll paid an fsync.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        pooler = options.pop("pooler", "")
        if pooler not in ("", "transaction"):
            raise ImproperlyConfigured(f"DATABASE_URL pooler={pooler!r} is not supported (use pooler=transaction "
                                       "for PgBouncer in transaction mode, or leave it out)")
        if not pooler:
            # No JIT compilation: Gatehouse's queries are short, and PostgreSQL compiles whenever a plan's
            # estimated cost passes jit_above_cost; with stale statistics that happened to a 300-row dashboard
            # query, which spent 0.8 s compiling and 0.06 s running. A URL's own ``?options=`` replaces this.
            # Behind a pooler a startup parameter is not passed on: set it on the database instead
            # (ALTER DATABASE gatehouse SET jit = off).
            options.setdefault("options", "-c jit=off")
        extra = {}
        if pooler == "transaction":
            # PgBouncer in transaction mode hands each transaction any server connection: no server-side cursors
            # (they outlive the transaction); psycopg's prepared statements are already off (Django passes
            # prepare_threshold=None); every lock Gatehouse takes is transaction scoped.
            extra["DISABLE_SERVER_SIDE_CURSORS"] = True
        return {**extra,
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": int(os.environ.get("DB_CONN_MAX_AGE", "60")),
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported (use sqlite or postgres)")


def email_from_url(url: str) -> dict:
    """console:// (default), locmem://, or smtp[s]://user:password@host:port?tls=1."""
    parts = urlsplit(url)
    if parts.scheme in ("", "console"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if parts.scheme in ("smtp", "smtps"):
        query = parse_qs(parts.query)
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": parts.scheme == "smtps",
            "EMAIL_USE_TLS": query.get("tls", ["0"])[-1] in ("1", "true"),
        }
    raise ImproperlyConfigured(f"EMAIL_URL scheme {parts.scheme!r} is not supported (console, locmem, smtp, smtps)")
