"""Layer 4, reports: the three PDF reports, their records, pages, API and task.

May import every layer below (governance, readiness, postmortems, registry); nothing below imports it.
"""
