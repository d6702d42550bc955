"""Tests of how Gatehouse is built: its layers, its migrations and backdated history."""
