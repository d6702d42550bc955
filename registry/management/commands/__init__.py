"""Commands that link models to MLflow, map aliases and sync."""
