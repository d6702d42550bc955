"""Template filters for the PDF reports."""
