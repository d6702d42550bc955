"""Tests that pages and the gate keep flat query counts as the data grows."""
