"""Commands that render a report and verify postmortem timelines."""
