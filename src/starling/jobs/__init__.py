"""Durable jobs: enqueue inside a write's transaction, run by the job runner after commit."""
