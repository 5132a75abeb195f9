"""Browser tests: real headless Chromium (Debian's /usr/bin/chromium) against a live app."""
