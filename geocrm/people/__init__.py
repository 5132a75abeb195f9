"""People: inviting users, roles and territories, deactivation, password resets (issue 17)."""
