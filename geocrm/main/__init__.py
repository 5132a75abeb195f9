"""Home page and small shared pages."""
