"""Anchors: the audit chain's head, written where the database cannot rewrite it.

A hash chain vouches only for what it still contains: emptied, cut back or rewritten with recomputed hashes,
it verifies again. An anchor is a copy of the head (sequence, hash, time) kept outside the database: a file in
an append-only directory (created exclusively, never overwritten; WORM storage in production), optionally
with an RFC 3161 timestamp token from a time-stamping authority, which proves the anchor existed at that time.
``verify_against_anchors`` compares the stored chain with every anchor it can read and names what is wrong.
Events written after the newest anchor are vouched for by the chain alone.
"""

import hashlib
import json
import os
import secrets
import subprocess
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from governance.kernel.audit import GENESIS_HASH
from governance.kernel.canonical import canonical_json
from governance.kernel.models import AuditEvent

ANCHOR_SUFFIX = ".json"
TOKEN_SUFFIX = ".tsr"


class AnchorError(Exception):
    """An anchor could not be written. ``code`` says why: ``no_anchor_directory``, ``tsa_unreachable`` (the
    time-stamping authority did not answer) or ``tsa_refused`` (it answered without granting a timestamp)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class Problem(str):
    """One thing wrong with the stored chain, in words for the operator, with a stable ``code`` for scripts and
    tests: ``anchor_unreadable``, ``log_emptied``, ``log_shortened``, ``written_after_anchor``,
    ``anchor_mismatch`` (and, from ``verify_audit_log``, a chain break's code and ``timestamp_invalid``)."""

    code: str

    def __new__(cls, code: str, text: str) -> "Problem":
        problem = super().__new__(cls, text)
        problem.code = code
        return problem


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    created_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "hash": self.hash,
                "created_at": self.created_at.isoformat() if self.created_at else None}


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    anchored_at: datetime
    source: str
    token_path: Path | None = field(default=None, compare=False)
    data_path: Path | None = field(default=None, compare=False)


def chain_head() -> Head:
    """The newest event's sequence and hash (sequence 0 and the genesis hash for an empty log)."""
    last = AuditEvent.objects.order_by("-seq").values("seq", "hash", "created_at").first()
    if last is None:
        return Head(0, GENESIS_HASH, None)
    return Head(last["seq"], last["hash"], last["created_at"])


# -- writing --------------------------------------------------------------------------------------------------

def _write_exclusively(path: Path, content: bytes) -> None:
    """Create ``path`` and refuse if it exists: an anchor is never overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_anchor(directory: str | os.PathLike[str] | None = None, *, tsa_url: str | None = None,
                 force: bool = False) -> Anchor | None:
    """Write the current head to the anchor directory; None when the newest anchor already holds it."""
    directory = Path(directory or settings.AUDIT_ANCHOR_DIR or "")
    if not str(directory) or not directory.is_dir():
        raise AnchorError(f"The anchor directory {str(directory)!r} does not exist; set AUDIT_ANCHOR_DIR.",
                          code="no_anchor_directory")
    tsa_url = tsa_url if tsa_url is not None else settings.AUDIT_TSA_URL
    head = chain_head()
    anchors, _ = read_anchors(directory)
    newest = max(anchors, key=lambda a: (a.anchored_at, a.seq), default=None)
    if not force and newest is not None and (newest.seq, newest.hash) == (head.seq, head.hash):
        return None
    anchored_at = timezone.now()
    content = canonical_json({"format": "gatehouse-audit-anchor/1", "seq": head.seq, "hash": head.hash,
                              "event_created_at": head.created_at, "anchored_at": anchored_at}).encode()
    token = request_timestamp(tsa_url, content) if tsa_url else None
    name = f"audit-{anchored_at:%Y%m%dT%H%M%S%f}Z-{head.seq:012d}-{secrets.token_hex(3)}"
    path = directory / (name + ANCHOR_SUFFIX)
    _write_exclusively(path, content)
    token_path = None
    if token is not None:
        token_path = directory / (name + TOKEN_SUFFIX)
        _write_exclusively(token_path, token)
    return Anchor(head.seq, head.hash, anchored_at, path.name, token_path, path)


# -- RFC 3161 -------------------------------------------------------------------------------------------------

_SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")  # AlgorithmIdentifier { sha256, NULL }


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + content


def _der_read(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """(tag, content, offset after) of the DER element at ``offset``."""
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first & 0x80:
        size = first & 0x7F
        first, offset = int.from_bytes(data[offset:offset + size], "big"), offset + size
    return tag, data[offset:offset + first], offset + first


def timestamp_request(content: bytes, nonce: int) -> bytes:
    """A TimeStampReq (RFC 3161 §2.4.1) for the sha256 of ``content``, asking for the authority's certificate."""
    imprint = _der(0x30, _SHA256_ALGORITHM + _der(0x04, hashlib.sha256(content).digest()))
    nonce_der = _der(0x02, nonce.to_bytes((nonce.bit_length() + 8) // 8, "big"))
    return _der(0x30, _der(0x02, b"\x01") + imprint + nonce_der + _der(0x01, b"\xff"))


def request_timestamp(url: str, content: bytes, *, timeout: float = 20) -> bytes:
    """Ask the time-stamping authority at ``url`` to stamp ``content``; the DER TimeStampResp it granted."""
    request = urllib.request.Request(url, data=timestamp_request(content, secrets.randbits(63)), method="POST",
                                     headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured URL
            reply: bytes = response.read()
    except OSError as error:
        raise AnchorError(f"The time-stamping authority at {url} did not answer: {error}",
                          code="tsa_unreachable") from error
    try:
        _, response_body, _ = _der_read(reply)
        _, status_info, _ = _der_read(response_body)
        _, status, _ = _der_read(status_info)
        granted = int.from_bytes(status, "big") in (0, 1)
    except IndexError:
        granted = False
    if not granted:
        raise AnchorError(f"The time-stamping authority at {url} refused the request.", code="tsa_refused")
    return reply


def check_timestamp(anchor: Anchor, ca_file: str) -> str | None:
    """None when the anchor's token is a valid timestamp over the anchor file under ``ca_file``, else why not."""
    result = subprocess.run(
        ["openssl", "ts", "-verify", "-in", str(anchor.token_path), "-data", str(anchor.data_path),
         "-CAfile", ca_file], capture_output=True, text=True, check=False)
    if result.returncode == 0 and "OK" in result.stdout:
        return None
    detail = (result.stderr or result.stdout).strip().splitlines()
    return detail[0] if detail else "verification failed"


# -- reading and verifying ------------------------------------------------------------------------------------

def read_anchors(directory: str | os.PathLike[str] | None = None) -> tuple[list[Anchor], list[Problem]]:
    """Every anchor in the directory, and a line for each file that could not be read as one."""
    directory = Path(directory or settings.AUDIT_ANCHOR_DIR or "")
    anchors: list[Anchor]
    unreadable: list[Problem]
    anchors, unreadable = [], []
    if not str(directory) or not directory.is_dir():
        return anchors, unreadable
    for path in sorted(directory.glob("*" + ANCHOR_SUFFIX)):
        try:
            data = json.loads(path.read_text())
            token = path.with_suffix(TOKEN_SUFFIX)
            anchors.append(Anchor(int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["anchored_at"]),
                                  path.name, token if token.exists() else None, path))
        except (OSError, ValueError, KeyError, TypeError) as error:
            unreadable.append(Problem("anchor_unreadable", f"anchor {path.name} is unreadable ({error})"))
    return anchors, unreadable


def verify_against_anchors(anchors: list[Anchor]) -> list[Problem]:
    """What is wrong with the stored chain according to the anchors (empty when every anchor matches).

    Distinguishes an emptied log, removed newest events, and a chain rewritten after an anchor (the stored event
    at an anchored sequence has another hash). A stored event written after the anchor that vouches for its
    sequence means the log was cut back and written again."""
    problems: list[Problem] = []
    if not anchors:
        return problems
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    wanted = {a.seq for a in anchors if a.seq}
    stored = {seq: (digest, created) for seq, digest, created in
              AuditEvent.objects.filter(seq__in=wanted).values_list("seq", "hash", "created_at")}
    newest = max(anchors, key=lambda a: a.seq)
    if last == 0 and newest.seq > 0:
        problems.append(Problem("log_emptied", f"the audit log is empty but anchor {newest.source} vouches for "
                                f"{newest.seq} events: the log was truncated"))
        return problems
    if newest.seq > last:
        problems.append(Problem("log_shortened", f"the log ends at event #{last} but anchor {newest.source} "
                                f"vouches for event #{newest.seq}: the newest {newest.seq - last} events were removed"))
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq == 0 or anchor.seq not in stored:
            continue
        digest, created = stored[anchor.seq]
        if digest == anchor.hash:
            continue
        if created > anchor.anchored_at:
            problems.append(Problem("written_after_anchor", f"event #{anchor.seq} was written after anchor "
                                    f"{anchor.source} recorded a different event #{anchor.seq}: the log was "
                                    "truncated or cut back and written again"))
        else:
            problems.append(Problem("anchor_mismatch", f"event #{anchor.seq} does not match anchor "
                                    f"{anchor.source} (stored hash {digest[:16]}…, anchored {anchor.hash[:16]}…): "
                                    "the chain was rewritten after it was anchored"))
        break  # the first divergence explains the rest
    return problems
