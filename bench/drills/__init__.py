"""Reliability drills: rolling upgrade, crash, overload and database restart, each ending in a verdict.

See docs/RELIABILITY.md for what each proves, how to run it and the figures measured.
"""
