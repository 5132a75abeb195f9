"""Account imports: CSV with header mapping, validation, duplicates, snapshots."""
