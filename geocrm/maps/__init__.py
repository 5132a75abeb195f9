"""The territory map page and its data endpoints."""
