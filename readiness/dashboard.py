"""The launch panels the dashboard shows (awaiting my signature, in review, rolling out), read through the
selectors. Readiness layer: the dashboard imports this, never the other way round.
"""

from django.urls import reverse

from governance.kernel import formatting as fmt
from governance.kernel.permissions import roles_of

from . import selectors
from .models import LaunchStatus, PendingDecision, PendingStatus


def launch_panels(user) -> list[dict]:
    in_review = list(selectors.launch_list(status=LaunchStatus.IN_REVIEW))
    mine = selectors.awaiting_signature(user, in_review)
    # A bank has hundreds of rollouts in progress: count them in the database and load only the rows shown.
    rolling_launches = selectors.launch_list(status=LaunchStatus.ROLLING_OUT)
    rolling_count = rolling_launches.count()
    rolling = list(rolling_launches.prefetch_related(None)[:8])  # the rows shown need no signatures
    resign = list(selectors.resign_requests_for(user)[:8])
    waiting = list(PendingDecision.objects.filter(status=PendingStatus.PENDING, role__in=list(roles_of(user)))
                   .select_related("launch__version__model").order_by("deadline", "pk")[:8])
    return [
        {"title": "Deploy decisions waiting for me", "count": len(waiting), "id": "deploy-decisions-for-me",
         "rows": [{"url": p.launch.get_absolute_url() + "#deploy-decisions", "label": f"{p.launch.title}: {p.stage}",
                   "note": f"inconclusive; decide by {p.deadline:%Y-%m-%d %H:%M} UTC"} for p in waiting],
         "empty": "No deploy tool is waiting for your decision."},
        {"title": "Signatures to give again", "count": len(resign), "id": "sign-again",
         "rows": [{"url": r.launch.get_absolute_url() + "#signoffs", "label": r.launch.title,
                   "note": f"the content changed after you signed as {fmt.role(r.role)}"} for r in resign],
         "empty": "None of your signatures went stale."},
        {"title": "Awaiting my signature", "count": len(mine), "id": "awaiting-my-signature",
         "rows": [{"url": launch.get_absolute_url(), "label": launch.title,
                   "note": f"{launch.version} · {launch.version.model.risk_tier}"} for launch in mine],
         "empty": "Nothing needs your signature.",
         "more": reverse("readiness:launch_list") + "?mine=on"},
        {"title": "Launches in review", "count": len(in_review),
         "rows": [{"url": launch.get_absolute_url(), "label": launch.title,
                   "note": f"{len([s for s in launch.signoffs.all() if not s.stale])} of "
                           f"{len(launch.required_roles)} signed"} for launch in in_review[:8]],
         "empty": "No launch is in review."},
        {"title": "Rolling out", "count": rolling_count,
         "rows": [{"url": launch.get_absolute_url(), "label": launch.title, "note": str(launch.version)}
                  for launch in rolling],
         "empty": "No rollout in progress."},
    ]
