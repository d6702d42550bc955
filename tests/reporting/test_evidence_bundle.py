"""The evidence bundle: exported from a set-up with every kind of record, it verifies with no database and no
network; one changed byte in any kind of file fails naming that file; a restricted incident stays out of the
bundle of someone who may not see it, counted but never named."""

import io
import socket
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from governance.kernel.anchors import write_anchor
from governance.kernel.errors import CommandFailed, PermissionDenied
from governance.kernel.models import AuditEvent
from governance.kernel.principals import SystemActor
from governance.validation.models import Validation, ValidationStatus
from readiness.gate import sign_receipt
from registry.models import ApprovalTag, RegistryLink
from reporting.bundle.export import export_evidence_bundle
from reporting.bundle.verify import BundleInvalid, verify_bundle
from reporting.regimes import services
from tests.factories import make_launch, pass_everything
from tests.postmortems.helpers import open_incident

SYSTEM = SystemActor("tests")
CANARY = "Privileged canary 7d3f"


@pytest.fixture
def file_set_up(people, settings, tmp_path):
    """A Tier 1 model with a launch that passed its checks, a validation with its report file, a receipt, an open
    incident and a restricted one, and an anchor of the audit chain after all of it."""
    settings.AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")
    (tmp_path / "anchors").mkdir()
    launch = pass_everything(make_launch(author=people["author"]), attester=people["data_science"])
    model = launch.version.model
    services.declare_regimes(model, actor=people["compliance"], regimes=["eu-ai-act", "us-model-risk-2026"])
    validation = Validation.objects.create(model=model, validator=people["model_risk"],
                                           status=ValidationStatus.COMPLETED, outcome="APPROVED",
                                           completed_at=timezone.now())
    validation.report.save("report.txt", ContentFile(b"Validation report: approved.\n"))
    link = RegistryLink.objects.create(model=model, registered_model=model.slug, created_by="tests")
    receipt = sign_receipt({"decision": "allow", "model": model.slug, "version": launch.version.version,
                            "stage": "canary", "reasons": []})
    ApprovalTag.objects.create(link=link, launch=launch, mlflow_version=1, stage="canary", key="gatehouse.canary",
                               receipt_id="r-1", receipt=receipt)
    open_incident(title="Latency spike on scoring", models=[model], severity="SEV3")
    open_incident(title=CANARY, models=[model], restricted=True, severity="SEV1")
    write_anchor()
    return model


def rewritten(content: bytes, member: str, change) -> bytes:
    """The bundle with one member's bytes changed and the zip rebuilt (valid CRCs: only the bundle's own checks
    can catch it)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, change(data) if info.filename == member else data)
    return out.getvalue()


def flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


@pytest.mark.django_db
def test_the_bundle_verifies_offline_and_one_changed_byte_in_each_kind_of_file_fails_naming_it(
        file_set_up, people, django_assert_num_queries, monkeypatch):
    bundle = export_evidence_bundle(file_set_up, actor=people["legal"])
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()

    def no_network(*args, **kwargs):
        raise AssertionError("the verifier opened a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    with django_assert_num_queries(0):
        result = verify_bundle(bundle.content)
    assert result.anchors and result.receipts == 1 and result.events_in_full > 0
    kinds = ("manifest.json", "manifest.jws", "keys/jwks.json", "audit/chain.jsonl", "audit/anchors/",
             "reports/launch-dossier-", "reports/incident-report-", "records/launches/", "records/incidents/",
             "records/model.json", "records/coverage.json", "regimes/", "evidence/", "receipts/")
    for prefix in kinds:
        member = next(n for n in names if n.startswith(prefix) and (prefix != "reports/launch-dossier-"
                                                                     or n.endswith(".pdf")))
        with pytest.raises(BundleInvalid) as failed, django_assert_num_queries(0):
            verify_bundle(rewritten(bundle.content, member, flip))
        assert failed.value.path == member, (member, failed.value)


@pytest.mark.django_db
def test_a_byte_changed_in_the_zip_itself_fails_naming_the_member(file_set_up, people):
    bundle = export_evidence_bundle(file_set_up, actor=people["legal"])
    archive = zipfile.ZipFile(io.BytesIO(bundle.content))
    info = archive.getinfo(next(n for n in archive.namelist() if n.startswith("records/launches/")))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    content = bytearray(bundle.content)
    content[start + info.compress_size // 2] ^= 0xFF
    with pytest.raises(BundleInvalid) as failed:
        verify_bundle(bytes(content))
    assert failed.value.path == info.filename


@pytest.mark.django_db
def test_an_added_file_and_a_foreign_key_set_are_refused(file_set_up, people):
    bundle = export_evidence_bundle(file_set_up, actor=people["legal"])
    out = io.BytesIO(bundle.content)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("records/extra.json", b"{}")
    with pytest.raises(BundleInvalid) as failed:
        verify_bundle(out.getvalue())
    assert (failed.value.path, failed.value.code) == ("records/extra.json", "file_unlisted")
    with pytest.raises(BundleInvalid) as failed:
        verify_bundle(bundle.content, jwks=b'{"keys": []}')
    assert (failed.value.path, failed.value.code) == ("manifest.jws", "signature_invalid")


@pytest.mark.django_db
def test_a_restricted_incident_stays_out_of_an_outsiders_bundle_counted_never_named(file_set_up, people):
    outsider = export_evidence_bundle(file_set_up, actor=people["model_risk"])
    insider = export_evidence_bundle(file_set_up, actor=people["legal"])

    def everything(bundle):
        archive = zipfile.ZipFile(io.BytesIO(bundle.content))
        return {name: archive.read(name) for name in archive.namelist()}

    seen, full = everything(outsider), everything(insider)
    assert not any(CANARY.encode() in content for name, content in seen.items() if not name.endswith(".pdf"))
    assert any(CANARY.encode() in content for content in full.values())
    restricted = file_set_up.incidents.get(restricted=True)
    assert f"records/incidents/{restricted.pk}.json" in full
    assert f"records/incidents/{restricted.pk}.json" not in seen
    assert f"reports/incident-report-{restricted.pk}.pdf" not in seen
    assert outsider.manifest["withheld"]["incident"] == 1 and "incident" not in insider.manifest["withheld"]
    verify_bundle(outsider.content)


@pytest.mark.django_db
def test_the_export_is_permission_checked_and_audited(file_set_up, people):
    with pytest.raises(PermissionDenied):
        export_evidence_bundle(file_set_up, actor=people["data_science"])
    bundle = export_evidence_bundle(file_set_up, actor=people["compliance"], regime="eu-ai-act")
    event = AuditEvent.objects.filter(verb="model.evidence_bundle_exported").latest("seq")
    assert event.after["sha256"] == bundle.sha256 and event.after["regime"] == "eu-ai-act"
    assert bundle.manifest["regimes"] == ["eu-ai-act"]


@pytest.mark.django_db
def test_the_api_and_the_page_keep_a_bundle_that_downloads_and_verifies(
        file_set_up, people, api_client, client, django_capture_on_commit_callbacks):
    api_client.force_login(people["compliance"])
    url = f"/api/v1/models/{file_set_up.slug}/evidence-bundle/"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(url, {}, format="json")
    assert response.status_code == 201
    record = api_client.get(response["Location"]).json()
    assert record["status"] == "READY"
    client.force_login(people["compliance"])
    download = client.get(record["download_url"])
    assert download["Content-Type"] == "application/zip" and download["Content-Disposition"].startswith("attachment")
    verify_bundle(b"".join(download.streaming_content))
    api_client.force_login(people["viewer"])
    assert api_client.post(url, {}, format="json").status_code == 403
    client.force_login(people["legal"])
    response = client.post(f"/models/{file_set_up.slug}/file/bundle/", {"regime": ""})
    assert response.status_code == 302 and response["Location"].endswith("#fb-bundle")


@pytest.mark.django_db
def test_the_commands_export_and_verify_and_the_verifier_names_the_file(file_set_up, tmp_path, capsys):
    target = tmp_path / "bundle.zip"
    call_command("export_evidence_bundle", "--model", file_set_up.slug, "-o", str(target))
    call_command("verify_evidence_bundle", str(target))
    assert "verified" in capsys.readouterr().out
    target.write_bytes(rewritten(target.read_bytes(), "records/model.json", flip))
    with pytest.raises(CommandFailed) as failed:
        call_command("verify_evidence_bundle", str(target))
    assert failed.value.code == "file_altered" and failed.value.reasons == ("records/model.json",)


@pytest.mark.slow
@pytest.mark.django_db
def test_the_seeded_credit_models_bundle_verifies_and_a_changed_byte_fails_naming_the_file():
    from governance.models import MLModel, User

    call_command("seed_examples", verbosity=0)
    model = MLModel.objects.get(slug="credit-line-decisioning")
    assert sorted(model.regimes.values_list("regime", flat=True)) == ["eu-ai-act", "us-model-risk-2026"]
    bundle = export_evidence_bundle(model, actor=User.objects.get(username="cole"))
    verify_bundle(bundle.content)
    member = next(f["path"] for f in bundle.manifest["files"] if f["path"].startswith("records/incidents/"))
    with pytest.raises(BundleInvalid) as failed:
        verify_bundle(rewritten(bundle.content, member, flip))
    assert failed.value.path == member
