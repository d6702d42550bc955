"""Gatehouse's tests: one folder per app or concern, one file per rule area."""
