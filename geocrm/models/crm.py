"""Models of the CRM core (issue 6): segments, merges, custom fields. Owned by that work."""
