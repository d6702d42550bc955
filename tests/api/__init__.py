"""Tests of the API as a whole: its schema, hostile input and an unavailable database."""
