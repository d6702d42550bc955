"""Layer 4, the dashboard: the home page, with panels read from readiness, postmortems and the registry.

May import every layer below; nothing below imports it. Reads only.
"""
