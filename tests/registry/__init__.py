"""Tests of the MLflow registry integration: sync, alias actuation and drift, webhooks."""
