"""One module per user action. Services take a session, never commit, and queue jobs for side effects."""
