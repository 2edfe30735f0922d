"""Searching accounts, hashtags and statuses."""
