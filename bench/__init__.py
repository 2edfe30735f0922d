"""Benchmarks: each module runs alone as ``python -m bench.NAME``; ``python -m bench.run_all`` runs them all."""
