"""Layer 3½, the MLflow Model Registry integration: links, version sync, alias actuation and
hand-moved alias checks.

May import readiness, postmortems and the governance layers; may not import reporting, dashboard, examples
or config. It hears of stages and rollbacks through readiness's signals.
"""
