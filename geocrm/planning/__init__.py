"""Route planning in the app (issue 3): planner page, background jobs, publishing, exports."""
