"""The fault tests compare runs in this process with runs in child processes.

The children run with one BLAS thread (:func:`tests.faults.training.child_env`);
a matrix product summed by two threads rounds differently from one summed by
one, so the runs in this process must use one BLAS thread too, or the logs
differ in the sixth digit and "repeats the uninterrupted run" cannot be tested.
"""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Every test (and module fixture) of this folder trains with one BLAS thread."""
    with threadpool_limits(limits=1):
        yield
