"""Tests of launch readiness: the checklist, sign-offs, the gate and rollouts."""
