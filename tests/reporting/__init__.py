"""Tests of the reporting app's checks of incident timelines."""
