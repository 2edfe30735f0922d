"""Serving: one master process holding the listening socket, web workers running uvicorn, one job-runner
process, and the rolling reload that replaces them with the code now on disk (see docs/OPERATIONS.md)."""
