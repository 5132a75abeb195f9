"""CRM core (issue 6): account 360, tasks, pipeline, duplicates and merge, segments, reports."""
