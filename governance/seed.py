"""Seeding entry point kept for the management command; the stories live in governance.seeding."""

from .seeding import seed_all

__all__ = ["seed_all"]
