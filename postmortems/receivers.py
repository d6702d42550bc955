"""How postmortems react to launch readiness below them: a rollback opens its incident."""

from postmortems.services import open_incident


def open_rollback_incident(sender, *, incident, **kwargs):
    """A launch was rolled back: open the incident it calls for, in the rollback's transaction."""
    return open_incident(**incident)
