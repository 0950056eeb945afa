"""Test configuration: hypothesis profiles.

``HYPOTHESIS_PROFILE=dev`` runs more examples; the default ``ci`` profile keeps
``make test`` within its time budget on a 2-core machine.
"""

import os

from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile("dev", max_examples=300, deadline=None)
# mutation runs (scripts/mutation.py): the ci examples without shrinking; a mutant is killed by
# the first failing example, and shrinking it cost minutes per mutant on the shared machine
settings.register_profile(
    "mutation",
    parent=settings.get_profile("ci"),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
