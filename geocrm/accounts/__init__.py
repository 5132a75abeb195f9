"""Accounts: list, detail, edit, contacts; always scoped to the current user."""
