"""Models of the field app (issue 5): API tokens, sync records, conflicts. Owned by that work."""
