"""Signals readiness sends so higher layers can react to rollouts without readiness importing them.

Both are sent inside the transaction that changes the launch, under its row lock, after the state change and its
audit event are written. A receiver's writes therefore commit or roll back together with the change, and a
receiver must not do network I/O or anything slow: it records what must happen and schedules the work with
``transaction.on_commit`` (the registry integration records a pending alias change this way, so a rollback is
never held up, or refused, because another system is down).

- ``stage_entered(sender=LaunchRequest, launch, stage, previous, actor, at)``: the rollout entered ``stage`` (a
  RolloutStage); ``previous`` is the stage it left, or None when the rollout started.
- ``launch_rolled_back(sender=LaunchRequest, launch, actor, reason, at, incident, exposure_percent)``: the launch
  became ROLLED_BACK, by the kill switch or a guardrail. ``incident`` holds the keyword arguments of the incident
  the rollback calls for (title, times, timeline); the postmortems app opens it in the same transaction, with the
  severity its one rule gives for the tier and ``exposure_percent`` (the traffic share of the stage the launch
  was in, None if unknown), and answers with it.
- ``pending_decision_decided(sender=PendingDecision, launch_id, stage)``: a person allowed or denied an inconclusive
  gate decision; sent after the decision commits. Deploy contracts that call back (GitHub) review again.
"""

from django.dispatch import Signal

stage_entered = Signal()
launch_rolled_back = Signal()
pending_decision_decided = Signal()
