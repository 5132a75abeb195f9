"""JSON API under /api/v1 (session auth for the app's own pages; tokens come with the field app)."""
