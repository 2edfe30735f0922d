"""Statuses: posting, reading, editing, deleting and what others do with them (one module per action)."""
