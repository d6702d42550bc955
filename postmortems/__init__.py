"""Layer 3, postmortems: incidents, timelines, contributing factors, action items and postmortem
documents.

May import readiness (an incident can be about a launch) and the governance layers; readiness never imports
postmortems, and postmortems may not import registry, reporting, dashboard, examples or config.
"""
