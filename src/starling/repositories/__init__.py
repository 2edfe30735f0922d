"""The only place that builds queries."""
