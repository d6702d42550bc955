"""The record of every deploy tool's call: a row per call, an audit event per change of decision.

A polling tool asks every few seconds; writing each answer to the hash-chained audit log would serialise all of
them on the chain's lock. The row (ToolCall) is enough to show who asked what and when; the audit chain records
when the decision a tool receives for a launch's stage changes (ToolDecisionState, locked per launch, stage and
tool), which is the fact an auditor needs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction

from governance.kernel import audit, clock
from governance.kernel.principals import actor_label

from ..models import FlaggerCanary, ToolCall, ToolDecisionState

if TYPE_CHECKING:
    from governance.kernel.principals import Actor

    from .decision import Ask, ToolAnswer


CALL_FIELDS = ("tool", "kind", "caller", "launch", "model", "version", "digest", "stage", "subject", "decision",
               "reasons", "receipt_id", "asked_at")


@dataclass(frozen=True)
class CanaryGuard:
    """A Flagger gating call is about the revision its canary is bound to (FlaggerCanary): the call's row is
    written only while that binding holds, in the same statement that checks it. When it does not hold,
    ``bind`` binds the canary or says why the call is not about the bound revision."""

    namespace: str
    name: str
    checksum: str
    model: str
    version: str
    new_revision: bool

    def bind(self) -> dict[str, str] | None:
        return bind_flagger_canary(namespace=self.namespace, name=self.name, checksum=self.checksum,
                                   model=self.model, version=self.version, new_revision=self.new_revision)


@functools.cache
def _insert_sql(vendor: str, no_flush: bool, guarded: bool) -> str:
    """INSERT the call (only while the canary's binding holds, when guarded), RETURNING its id and the decision
    last recorded for its (launch, stage, tool)."""
    quote, meta, state, canary = connection.ops.quote_name, ToolCall._meta, ToolDecisionState._meta, FlaggerCanary._meta

    def column(model_meta: Any, name: str) -> str:
        return quote(model_meta.get_field(name).column)

    columns = ", ".join(column(meta, name) for name in CALL_FIELDS)
    guard = (f" WHERE EXISTS (SELECT 1 FROM {quote(canary.db_table)} WHERE {column(canary, 'namespace')} = %s "
             f"AND {column(canary, 'name')} = %s AND {column(canary, 'checksum')} = %s)") if guarded else ""
    previous = (f"(SELECT {column(state, 'decision')} FROM {quote(state.db_table)} WHERE {column(state, 'launch')} = %s "
                f"AND {column(state, 'stage')} = %s AND {column(state, 'tool')} = %s)")
    flush = ", set_config('synchronous_commit', 'off', true)" if no_flush else ""
    return (f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {', '.join(['%s'] * len(CALL_FIELDS))}{guard} "
            f"RETURNING {quote(str(meta.pk.column))}, {previous}{flush}")


def _insert_call(values: dict[str, object], *, guard: CanaryGuard | None) -> tuple[int, str | None] | None:
    """Insert the call and read the decision last recorded for its (launch, stage, tool) in one statement, so the
    common poll costs one round trip and takes no lock; None when ``guard``'s binding does not hold (no row).
    A repeated answer is a row for the launch page, not evidence (the audit chain has the change): on PostgreSQL,
    when the statement is its own transaction, its commit does not wait for the WAL flush (``set_config(...,
    true)`` lasts for that transaction only), so polling does not queue on the disk. A crash may lose the last
    such rows, never an audit event, which commits synchronously."""
    fields: list[Any] = [ToolCall._meta.get_field(name) for name in CALL_FIELDS]
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    if guard is not None:
        params += [guard.namespace, guard.name, guard.checksum]
    params += [values["launch"], values["stage"], values["tool"]]
    no_flush = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, no_flush, guard is not None), params)
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def record_call(ask: Ask, result: ToolAnswer, *, caller: Actor, guard: CanaryGuard | None = None) -> int | None:
    """Store the call (returns its id); when the (launch, stage, tool) decision differs from the last one, write
    one audit event. The caller's permission to ask was checked by the contract (decision.authorize) before the
    gate was asked. The common poll is one INSERT; only a change takes the state's row lock and the audit chain.
    With a ``guard`` nothing is stored, and None returned, unless the canary is bound to the call's checksum."""
    now = clock.now()
    launch_id = result.verdict.get("launch")
    inserted = _insert_call({
        "tool": ask.tool, "kind": ask.kind[:40], "caller": actor_label(caller)[:200], "launch": launch_id,
        "model": ask.model[:100], "version": (result.verdict.get("version") or ask.version or "")[:100],
        "digest": ask.digest[:100], "stage": ask.stage[:100], "subject": ask.subject[:300],
        "decision": result.decision, "reasons": result.codes, "receipt_id": result.receipt_id, "asked_at": now,
    }, guard=guard)
    if inserted is None:
        return None
    call_id, previous = inserted
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
