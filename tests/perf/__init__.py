"""Benchmarks, side by side with references in the same run (`python -m tests.perf`)."""
