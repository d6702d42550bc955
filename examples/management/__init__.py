"""Management commands of the examples app."""
