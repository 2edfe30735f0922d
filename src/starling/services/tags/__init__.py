"""Hashtags as an account relates to them: following them, featuring them on its profile."""
