"""Anchors in an S3 bucket with Object Lock: outside the writer's machine, and write-once by the store itself.

Each anchor is a new key, written with Object Lock in compliance mode and a retention date, so not even the
bucket's owner can delete that version before the date. What the store still allows is a plain PUT to the same
key (a newer version) or a DELETE without a version (a delete marker hiding the anchor); ``read_bucket_anchors``
reads every version of every key and names both as tampering. Bucket Object Lock semantics: AWS S3 User Guide,
"Locking objects with Object Lock" (compliance mode, retain-until date); MinIO and Ceph RGW implement the same API.
"""

import json
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from governance.kernel.anchors import Anchor, Problem, chain_head
from governance.kernel.canonical import canonical_json

PREFIX = "audit-anchors/"


def anchor_client() -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.client(
        "s3", endpoint_url=settings.AUDIT_ANCHOR_S3_ENDPOINT_URL or None, region_name=settings.AUDIT_ANCHOR_S3_REGION,
        aws_access_key_id=settings.AUDIT_ANCHOR_S3_ACCESS_KEY or None,
        aws_secret_access_key=settings.AUDIT_ANCHOR_S3_SECRET_KEY or None)


def write_bucket_anchor(bucket: str, *, client: Any = None, retention_days: int | None = None) -> Anchor:
    """Write the current head to a new key, locked in compliance mode until the retention date."""
    client = client or anchor_client()
    days = retention_days if retention_days is not None else settings.AUDIT_ANCHOR_RETENTION_DAYS
    head = chain_head()
    anchored_at = timezone.now()
    content = canonical_json({"format": "gatehouse-audit-anchor/1", "seq": head.seq, "hash": head.hash,
                              "event_created_at": head.created_at, "anchored_at": anchored_at}).encode()
    key = f"{PREFIX}audit-{anchored_at:%Y%m%dT%H%M%S%f}Z-{head.seq:012d}.json"
    client.put_object(Bucket=bucket, Key=key, Body=content, ContentType="application/json",
                      ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=anchored_at + timedelta(days=days))
    return Anchor(head.seq, head.hash, anchored_at, f"s3://{bucket}/{key}")


def read_bucket_anchors(bucket: str, *, client: Any = None) -> tuple[list[Anchor], list[Problem]]:
    """Every anchor in the bucket (each key's first version), and a problem for each key written twice or
    hidden behind a delete marker."""
    client = client or anchor_client()
    versions: dict[str, list[dict[str, Any]]] = {}
    problems: list[Problem] = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=PREFIX):
        for version in page.get("Versions", []):
            versions.setdefault(version["Key"], []).append(version)
        for marker in page.get("DeleteMarkers", []):
            problems.append(Problem("anchor_deleted", f"anchor s3://{bucket}/{marker['Key']} was deleted "
                                    f"(a delete marker from {marker['LastModified']:%Y-%m-%d %H:%M:%S} hides it)"))
    anchors: list[Anchor] = []
    for key, found in sorted(versions.items()):
        found.reverse()  # S3 lists a key's versions newest first; the anchor is the first one written
        if len(found) > 1:
            problems.append(Problem("anchor_overwritten", f"anchor s3://{bucket}/{key} was written again "
                                    f"({len(found) - 1} newer version(s) after the first)"))
        first = found[0]
        try:
            body = client.get_object(Bucket=bucket, Key=key, VersionId=first["VersionId"])["Body"].read()
            data = json.loads(body)
            anchors.append(Anchor(int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["anchored_at"]),
                                  f"s3://{bucket}/{key}"))
        except (ValueError, KeyError, TypeError) as error:
            problems.append(Problem("anchor_unreadable", f"anchor s3://{bucket}/{key} is unreadable ({error})"))
    return anchors, problems
