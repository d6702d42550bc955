"""PgBouncer in transaction mode in front of the local PostgreSQL, for the suites that must hold behind a pooler
(sign-off and rollout races, idempotency keys, the audit chain). ``TEST_POOLER=pgbouncer`` turns it on: the test
database is created directly, then every connection the tests open goes through PgBouncer, configured as the
README's production layout says (``?pooler=transaction``: no server-side cursors, no session parameters)."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def pgbouncer(upstream_host: str, upstream_port: str, user: str):
    """A PgBouncer process in transaction mode forwarding every database to the upstream server; yields its port."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise RuntimeError("TEST_POOLER=pgbouncer needs PgBouncer (Debian: apt-get install pgbouncer)")
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(f"""[databases]
* = host={upstream_host or '127.0.0.1'} port={upstream_port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
admin_users = {user}
auth_file = {folder / 'users.txt'}
pool_mode = transaction
max_client_conn = 400
default_pool_size = 40
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
logfile = {folder / 'pgbouncer.log'}
""")
    for name in ("users.txt", "pgbouncer.ini"):
        (folder / name).chmod(0o644)
    # PgBouncer will not run as root; -u drops to the PostgreSQL service user when started as root.
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
        shutil.chown(folder, "postgres")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    out = process.stdout.read().decode() if process.stdout else ""
                    raise RuntimeError(f"PgBouncer did not start: {out}") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def route_through(settings_dict: dict, port: int) -> dict:
    """Point a PostgreSQL connection's settings at the pooler, as ``?pooler=transaction`` does; returns what to
    restore."""
    saved = {key: settings_dict.get(key) for key in ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS", "OPTIONS")}
    settings_dict.update(HOST="127.0.0.1", PORT=str(port), DISABLE_SERVER_SIDE_CURSORS=True,
                         OPTIONS={k: v for k, v in (settings_dict.get("OPTIONS") or {}).items() if k != "options"})
    return saved
