"""Seeding entry point kept for the management command; the stories live in examples.seeding."""

from examples.seeding import seed_all

__all__ = ["seed_all"]
