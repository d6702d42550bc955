"""Management commands of the readiness app."""
