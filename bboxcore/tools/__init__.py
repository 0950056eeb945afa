"""Tooling that is not a formula: the speed table, the detector profiler, the demo, and
the synthetic inputs that tests and benchmarks share.

Nothing in :mod:`bboxcore`'s formula modules imports from here.
"""
