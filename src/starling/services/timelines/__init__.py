"""Home feeds (fan-out on write, merge and unmerge on follow changes) and reading timelines."""
