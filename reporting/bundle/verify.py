"""Verify an evidence bundle with nothing but the file: no database, no network, no Gatehouse server.

In order: the manifest's signature (Ed25519, by a key in the bundle's ``keys/jwks.json``, or in a key set the
examiner got from Gatehouse separately and passes with ``--jwks``); the manifest's own digest against the signed
one; every file's sha256 and size against the manifest, and no file the manifest does not list; the audit chain
segment (each event in full hashes to its recorded hash, each event follows its predecessor, the last is the
head the manifest names) and each anchor in it (the event at the anchored sequence has the anchored hash);
each receipt's signature; RFC 3161 tokens with ``openssl ts -verify`` against ``tsa/ca.pem`` when both are there.
The first failure names the file at fault, so one changed byte anywhere is reported where it is.

Pure: imports neither the database layer nor any app; ``verify_evidence_bundle`` calls it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from governance.kernel.canonical import canonical_json, sha256_hex
from governance.kernel.signing import PublishedKey, SignatureError, keys_from_jwks, verify_token

FORMAT = "gatehouse-evidence-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.jws"
SIGNATURE_TYPE = "gatehouse-evidence-manifest+jws"
KEYS = "keys/jwks.json"
CHAIN = "audit/chain.jsonl"
GENESIS_HASH = "0" * 64


class BundleInvalid(Exception):
    """The bundle does not verify. ``path`` is the file at fault; ``code`` says how (``unreadable``,
    ``signature_invalid``, ``manifest_altered``, ``file_altered``, ``file_missing``, ``file_unlisted``,
    ``chain_broken``, ``anchor_mismatch``, ``receipt_invalid``, ``timestamp_invalid``)."""

    def __init__(self, path: str, code: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.code, self.message = path, code, message


@dataclass
class Verified:
    model: str
    files: int
    events: int
    events_in_full: int
    anchors: list[str]
    receipts: int
    signing_key: str
    key_pinned: bool
    timestamps_checked: int
    withheld: dict[str, int]
    notes: list[str] = field(default_factory=list)


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise BundleInvalid(name, "file_missing", "is not in the bundle") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise BundleInvalid(name, "unreadable", f"cannot be read from the zip ({error})") from None


def _json(path: str, content: bytes) -> Any:
    try:
        return json.loads(content)
    except (UnicodeDecodeError, ValueError) as error:
        raise BundleInvalid(path, "unreadable", f"is not JSON ({error})") from None


def _keys(content: bytes, path: str) -> dict[str, PublishedKey]:
    try:
        return keys_from_jwks(_json(path, content))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BundleInvalid(path, "unreadable", f"is not a key set ({error})") from None


def _check_signature(archive: zipfile.ZipFile, manifest_bytes: bytes, manifest: dict[str, Any],
                     pinned: dict[str, PublishedKey] | None) -> str:
    token = _read(archive, SIGNATURE).decode("utf-8", "replace").strip()
    jwks_bytes = _read(archive, KEYS)
    keys = pinned if pinned is not None else _keys(jwks_bytes, KEYS)
    try:
        claims, key = verify_token(token, keys)
    except SignatureError as error:
        listed = {f.get("path"): f.get("sha256") for f in manifest.get("files", []) if isinstance(f, dict)}
        if pinned is None and listed.get(KEYS) != hashlib.sha256(jwks_bytes).hexdigest():
            raise BundleInvalid(KEYS, "file_altered", "the key set differs from the one the manifest lists, so "
                                "the signature cannot be checked with it") from None
        raise BundleInvalid(SIGNATURE, "signature_invalid", f"the manifest's signature does not verify: {error}") \
            from None
    if claims.get("manifest_sha256") != hashlib.sha256(manifest_bytes).hexdigest():
        raise BundleInvalid(MANIFEST, "manifest_altered", "its sha256 is not the one the signature vouches for")
    return key.kid


def _check_files(archive: zipfile.ZipFile, manifest: dict[str, Any]) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    listed: set[str] = set()
    for entry in manifest.get("files", []):
        path = str(entry.get("path"))
        listed.add(path)
        content = _read(archive, path)
        if hashlib.sha256(content).hexdigest() != entry.get("sha256") or len(content) != entry.get("size"):
            raise BundleInvalid(path, "file_altered", "its sha256 is not the one the signed manifest lists")
        contents[path] = content
    for name in archive.namelist():
        if name not in listed and name not in (MANIFEST, SIGNATURE):
            raise BundleInvalid(name, "file_unlisted", "is in the zip but not in the signed manifest")
    return contents


def _check_chain(contents: dict[str, bytes], manifest: dict[str, Any]) -> tuple[int, int, dict[int, str]]:
    """(events, events in full, hash by sequence) after checking the segment links and hashes."""
    chain = manifest.get("audit") or {}
    lines = [line for line in contents.get(CHAIN, b"").decode("utf-8", "replace").splitlines() if line.strip()]
    hashes: dict[int, str] = {}
    previous: str | None = None
    expected = chain.get("first_seq")
    full = 0
    for number, line in enumerate(lines, start=1):
        entry = _json(f"{CHAIN} line {number}", line.encode())
        seq, prev_hash, digest = entry.get("seq"), entry.get("prev_hash"), entry.get("hash")
        if seq != expected:
            raise BundleInvalid(CHAIN, "chain_broken", f"line {number} holds event #{seq}, expected #{expected}")
        if previous is not None and prev_hash != previous:
            raise BundleInvalid(CHAIN, "chain_broken", f"event #{seq} does not follow the previous event's hash")
        if seq == 1 and prev_hash != GENESIS_HASH:
            raise BundleInvalid(CHAIN, "chain_broken", "the first event does not start from the genesis hash")
        if "event" in entry:
            full += 1
            if sha256_hex(str(prev_hash) + canonical_json(entry["event"])) != digest:
                raise BundleInvalid(CHAIN, "chain_broken", f"event #{seq} does not hash to its recorded hash")
        hashes[int(seq)] = str(digest)
        previous, expected = str(digest), int(seq) + 1
    if lines and (chain.get("last_seq") != int(expected or 0) - 1 or chain.get("head_hash") != previous):
        raise BundleInvalid(CHAIN, "chain_broken", "the segment does not end at the head the manifest names")
    return len(lines), full, hashes


def _check_anchors(contents: dict[str, bytes], manifest: dict[str, Any], hashes: dict[int, str]) -> list[str]:
    names = list((manifest.get("audit") or {}).get("anchors") or [])
    for name in names:
        path = f"audit/anchors/{name}"
        anchor = _json(path, contents.get(path, b""))
        seq = anchor.get("seq")
        if hashes.get(seq) != anchor.get("hash"):
            raise BundleInvalid(path, "anchor_mismatch", f"anchors event #{seq} with a hash the segment does not "
                                "hold: the chain was rewritten after it was anchored")
    return names


def _check_receipts(contents: dict[str, bytes], keys: dict[str, PublishedKey]) -> int:
    count = 0
    for path, content in sorted(contents.items()):
        if path.startswith("receipts/") and path.endswith(".jws"):
            try:
                verify_token(content.decode("utf-8", "replace"), keys)
            except SignatureError as error:
                raise BundleInvalid(path, "receipt_invalid", f"the receipt does not verify: {error}") from None
            count += 1
    return count


def _check_timestamps(contents: dict[str, bytes], notes: list[str]) -> int:
    tokens = sorted(p for p in contents if p.startswith("audit/anchors/") and p.endswith(".tsr"))
    if not tokens:
        return 0
    if "tsa/ca.pem" not in contents or shutil.which("openssl") is None:
        notes.append("RFC 3161 tokens present but not checked (no tsa/ca.pem in the bundle or no openssl here)")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "ca.pem").write_bytes(contents["tsa/ca.pem"])
        for path in tokens:
            data_path = path.removesuffix(".tsr") + ".json"
            (root / "token.tsr").write_bytes(contents[path])
            (root / "anchor.json").write_bytes(contents.get(data_path, b""))
            result = subprocess.run(["openssl", "ts", "-verify", "-in", str(root / "token.tsr"), "-data",
                                     str(root / "anchor.json"), "-CAfile", str(root / "ca.pem")],
                                    capture_output=True, text=True, check=False)
            if result.returncode != 0 or "OK" not in result.stdout:
                raise BundleInvalid(path, "timestamp_invalid", "the timestamp does not verify over its anchor")
    return len(tokens)


def verify_bundle(source: str | Path | bytes, *, jwks: bytes | None = None) -> Verified:
    """Check the bundle (a path or its bytes); BundleInvalid naming the file at fault, or what was checked."""
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError) as error:
        raise BundleInvalid(str(source)[:200] if not isinstance(source, bytes) else "bundle", "unreadable",
                            f"is not a readable zip ({error})") from None
    with archive:
        manifest_bytes = _read(archive, MANIFEST)
        manifest = _json(MANIFEST, manifest_bytes)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BundleInvalid(MANIFEST, "manifest_altered", f"is not a {FORMAT} manifest")
        pinned = _keys(jwks, "--jwks") if jwks is not None else None
        kid = _check_signature(archive, manifest_bytes, manifest, pinned)
        contents = _check_files(archive, manifest)
    keys = pinned if pinned is not None else _keys(contents[KEYS], KEYS)
    events, full, hashes = _check_chain(contents, manifest)
    anchors = _check_anchors(contents, manifest, hashes)
    notes: list[str] = []
    if not anchors:
        notes.append("no anchor falls in the audit segment: the chain is vouched for by the signature alone")
    if pinned is None:
        notes.append(f"signed by key {kid}, taken from the bundle: compare it with Gatehouse's published keys "
                     "(or pass --jwks)")
    return Verified(model=str(manifest.get("model")), files=len(contents), events=events, events_in_full=full,
                    anchors=anchors, receipts=_check_receipts(contents, keys), signing_key=kid,
                    key_pinned=pinned is not None, timestamps_checked=_check_timestamps(contents, notes),
                    withheld=dict(manifest.get("withheld") or {}), notes=notes)
