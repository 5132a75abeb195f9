"""Models of territory management (issue 4): revisions for undo, balance proposals."""
