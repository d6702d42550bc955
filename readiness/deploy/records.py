"""The record of every deploy tool's call: a row per call, an audit event per change of decision.

A polling tool asks every few seconds; writing each answer to the hash-chained audit log would serialise all of
them on the chain's lock. The row (ToolCall) is enough to show who asked what and when; the audit chain records
when the decision a tool receives for a launch's stage changes (ToolDecisionState, locked per launch, stage and
tool), which is the fact an auditor needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction

from governance.kernel import audit, clock
from governance.kernel.principals import actor_label

from ..models import ToolCall, ToolDecisionState

if TYPE_CHECKING:
    from governance.kernel.principals import Actor

    from .decision import Ask, ToolAnswer


def _insert_call(values: dict[str, object], *, launch_id: int | None, stage: str, tool: str) -> tuple[int, str | None]:
    """Insert the call and read the decision last recorded for its (launch, stage, tool) in one statement, so the
    common poll costs one round trip and takes no lock. A repeated answer is a row for the launch page, not
    evidence (the audit chain has the change): on PostgreSQL, when the statement is its own transaction, its commit
    does not wait for the WAL flush (``set_config(..., true)`` lasts for that transaction only), so polling does not
    queue on the disk. A crash may lose the last such rows, never an audit event, which commits synchronously."""
    quote, meta, state = connection.ops.quote_name, ToolCall._meta, ToolDecisionState._meta
    fields = [meta.get_field(name) for name in values]
    columns = ", ".join(quote(field.column) for field in fields)
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    previous = (f"(SELECT {quote(state.get_field('decision').column)} FROM {quote(state.db_table)} WHERE "
                f"{quote(state.get_field('launch').column)} = %s AND {quote(state.get_field('stage').column)} = %s "
                f"AND {quote(state.get_field('tool').column)} = %s)")
    no_flush = (", set_config('synchronous_commit', 'off', true)"
                if connection.vendor == "postgresql" and not connection.in_atomic_block else "")
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
           f"RETURNING {quote(meta.pk.column)}, {previous}{no_flush}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, launch_id, stage, tool])
        row = cursor.fetchone()
    return row[0], row[1]


def record_call(ask: Ask, result: ToolAnswer, *, caller: Actor) -> int:
    """Store the call (returns its id); when the (launch, stage, tool) decision differs from the last one, write
    one audit event. The caller's permission to ask was checked by the contract (decision.authorize) before the
    gate was asked. The common poll is one INSERT; only a change takes the state's row lock and the audit chain."""
    now = clock.now()
    launch_id = result.verdict.get("launch")
    call_id, previous = _insert_call({
        "tool": ask.tool, "kind": ask.kind[:40], "caller": actor_label(caller)[:200], "launch": launch_id,
        "model": ask.model[:100], "version": (result.verdict.get("version") or ask.version or "")[:100],
        "digest": ask.digest[:100], "stage": ask.stage[:100], "subject": ask.subject[:300],
        "decision": result.decision, "reasons": result.codes, "receipt_id": result.receipt_id, "asked_at": now,
    }, launch_id=launch_id, stage=ask.stage, tool=ask.tool)
    if launch_id is None or previous == result.decision:
        return call_id
    with transaction.atomic():  # the decision changed, or this is the first call: compare again under the lock
        state = (ToolDecisionState.objects.select_for_update()
                 .filter(launch_id=launch_id, stage=ask.stage, tool=ask.tool).first())
        before = None if state is None else state.decision
        if before == result.decision:
            return call_id
        if state is None:
            try:
                with transaction.atomic():
                    ToolDecisionState.objects.create(launch_id=launch_id, stage=ask.stage, tool=ask.tool,
                                                     decision=result.decision, changed_at=now)
            except IntegrityError:  # a concurrent first call created it: lock it and compare
                state = ToolDecisionState.objects.select_for_update().get(launch_id=launch_id, stage=ask.stage,
                                                                          tool=ask.tool)
                before = state.decision
                if before == result.decision:
                    return call_id
        if state is not None:
            state.decision, state.changed_at = result.decision, now
            state.save(update_fields=["decision", "changed_at"])
        audit.record("gate.tool_decision_changed", actor=caller, object_type="readiness.launchrequest",
                     object_id=str(launch_id), object_repr=f"Launch #{launch_id}",
                     before={"decision": before} if before else None,
                     after={"tool": ask.tool, "stage": ask.stage, "decision": result.decision, "reasons": result.codes,
                            "receipt_id": result.receipt_id, "call": call_id})
    return call_id


def bind_flagger_canary(*, namespace: str, name: str, checksum: str, model: str, version: str,
                        new_revision: bool) -> dict[str, str] | None:
    """Bind a Flagger canary's pod-spec checksum to the model version it ships, or say why the call is not about
    the bound revision. The first gating call binds; ``confirm-rollout`` (Flagger's first hook of a new revision)
    or a call about another model version re-binds; any other call with another checksum is ``canary_changed``:
    what is running is not what the gate was asked about."""
    from ..models import FlaggerCanary

    # The common call repeats the bound checksum: answered by a plain read, without taking a write lock.
    if FlaggerCanary.objects.filter(namespace=namespace, name=name, checksum=checksum).exists():
        return None
    with transaction.atomic():
        bound = FlaggerCanary.objects.select_for_update().filter(namespace=namespace, name=name).first()
        if bound is None:
            try:
                with transaction.atomic():
                    FlaggerCanary.objects.create(namespace=namespace, name=name, checksum=checksum, model=model,
                                                 version=version, bound_at=clock.now())
                return None
            except IntegrityError:
                bound = FlaggerCanary.objects.select_for_update().get(namespace=namespace, name=name)
        if bound.checksum == checksum:
            return None
        if new_revision or (bound.model, bound.version) != (model, version):
            bound.checksum, bound.model, bound.version, bound.bound_at = checksum, model, version, clock.now()
            bound.save(update_fields=["checksum", "model", "version", "bound_at"])
            return None
    return {"code": "canary_changed", "detail": (
        f"Canary {namespace}/{name} now runs revision {checksum}, not {bound.checksum} that the gate was asked about; "
        "a new revision starts with confirm-rollout.")}
