"""Layer 3, launch readiness: launch requests, checklists, evaluations, sign-offs, rollout plans,
guardrails and the gate API.

May import the governance layers; may not import postmortems, registry, reporting, dashboard, examples or
config (it tells them of rollbacks and stages through ``signals.py``).
"""
