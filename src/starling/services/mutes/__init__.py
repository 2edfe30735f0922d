"""Muting accounts."""
