"""Planning maintenance windows from the server's own activity, announcements, and read-only mode."""
