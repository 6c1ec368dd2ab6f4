"""Benchmarks (``helix bench <area>``): each figure printed beside a baseline from the same run."""
