"""Infrastructure: database engine and sessions, and later pub/sub, media storage, HTTP."""
