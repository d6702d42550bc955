"""Tests of the seeded example stories and their timelines."""
