"""Lists: creating and editing them, their members, and their timelines."""
