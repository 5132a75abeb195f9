"""The field rep app: an installable offline-first PWA and the rules behind its writes."""
