"""Tests of single sign-on against a real OpenID Connect provider."""
