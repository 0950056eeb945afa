"""Test configuration: hypothesis profiles.

``HYPOTHESIS_PROFILE=dev`` runs more examples; the default ``ci`` profile keeps
``make test`` within its time budget on a 2-core machine. ``mutation`` (``ci`` without
shrinking) is the profile scripts/mutation.py selects for its runs, and ``mutation-lean``
(also 20 examples instead of 60) the one for the modules whose mutants run many property
tests (``LEAN_MODULES`` there); neither is meant for ``make test``.
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
# the lean modules of scripts/mutation.py (roi._sampling, _nms_fast): also 20 examples
settings.register_profile("mutation-lean", settings.get_profile("mutation"), max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
