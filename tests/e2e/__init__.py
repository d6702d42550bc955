"""Browser tests, driven through Playwright with Debian's chromium."""
