"""The short tour printed by `manage.py demo`: which login to use for which story, and what to click."""

TOUR = [
    "Dates count back from today (day 0); every story happens on its own dates (manage.py verify_timelines).",
    "Lending proxy incident (E1) — log in as cole (Compliance). Incidents → 'Device-metadata feature became a proxy'",
    "   is restricted: vic (Viewer) cannot see it at all. Launched day −270: 14 days to detect, 48 hours to revert, the published",
    "   postmortem, and action items whose policy changes rebuilt the TIER_1 policy (Policies → Tier 1 → History).",
    "Relaunch (E1) — Launches → 'Credit line 5.0 relaunch': four current sign-offs, third-party controls passing,",
    "   in the 30-day shadow it entered on day −10; the original 4.2 launch shows its single signature and failing controls.",
    "Fairness under uncertainty (E4) — as cole, the dashboard shows 'Recommender 7.0 full rollout' awaiting your",
    "   signature: its adverse-impact check is INCONCLUSIVE with the interval chart and the rows that would settle it.",
    "100 % launch with dissent (E2) — 'Homepage ranking 3.0', campaign day −90: the recorded dissent, the guardrails, and the launch-day",
    "   CTR dip of −0.4 % for 20 minutes that stayed above the rollback line.",
    "Automatic rollback (E3) — 'Propensity 2.0 canary' was rolled back by its guardrail on day −60, opening the incident:",
    "   9 minutes to detect, 12 to recover, root cause and mechanisms in the published postmortem.",
    "Reports — Reports → request a launch dossier, an incident report for the risk committee or a governance pack.",
    "CI — python manage.py create_api_token ci --scopes gate:read then ask /api/v1/gate/ (see the README).",
]
