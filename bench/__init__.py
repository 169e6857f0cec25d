"""Benchmarks: runnable, printing numbers and ratios measured side by side in one run."""
