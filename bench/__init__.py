"""Benchmarks behind `make bench`: run each from the repo root as `python -m bench.bench_<name>`."""
