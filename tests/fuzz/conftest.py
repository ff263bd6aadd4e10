"""Hypothesis profiles for the fuzz tests, chosen with ``HYPOTHESIS_PROFILE``.

- ``ci``: fixed seed (derandomized), bounded: what ``.ci/run`` runs (the whole directory within
  a few minutes on 2 cores);
- ``long``: many more examples, random seeds: ``./dev fuzz``;
- unset: Hypothesis's defaults, as for every other test.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
