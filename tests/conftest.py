"""Test configuration: hypothesis profiles.

``HYPOTHESIS_PROFILE=dev`` runs more examples; the default ``ci`` profile keeps
``make test`` within its time budget on a 2-core machine. ``mutation`` (``ci`` with fewer
examples) is the profile scripts/mutation.py selects for the modules whose mutants run
many property tests (``LEAN_MODULES`` there); it is not meant for ``make test``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.register_profile("mutation", settings.get_profile("ci"), max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
