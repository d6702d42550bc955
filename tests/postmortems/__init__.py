"""Tests of incidents, postmortems, action items and their obligations."""
