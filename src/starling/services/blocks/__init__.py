"""Blocking accounts."""
