"""Commands for API tokens and the audit log's anchors and verification."""
