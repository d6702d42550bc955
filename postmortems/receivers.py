"""How postmortems react to launch readiness below them: a rollback opens its incident."""

from postmortems.services import open_incident
from postmortems.severity import self_opened_severity


def open_rollback_incident(sender, *, incident, exposure_percent=None, **kwargs):
    """A launch was rolled back: open the incident it calls for, in the rollback's transaction, with the
    severity of the one rule for incidents Gatehouse opens itself (tier and the exposure at the time)."""
    launch = incident.get("launch")
    severity = self_opened_severity(launch.tier if launch is not None else "", exposure_percent)
    return open_incident(**{**incident, "severity": severity})
