"""Prospecting: the region's OpenStreetMap places that look like the customers, added in bulk
as prospects, kept fresh when a newer extract is loaded (issue 16)."""
