"""Alembic migrations; every one runs on SQLite and PostgreSQL."""
