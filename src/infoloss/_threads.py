"""How many cores infoloss uses when nobody said: the one rule, for the measures' threads and the
coder's processes.

``INFOLOSS_NUM_THREADS`` if set, else ``OMP_NUM_THREADS`` (the usual limit of a process's compute
threads, also set by job schedulers), else the CPUs this process may run on. An explicit
``infoloss.set_num_threads(n)`` (:mod:`infoloss.measures._fast`) comes before all of these. This
module imports nothing heavy, so a command that needs no measure (``infoloss code decompress``)
does not load the measures to count its cores.
"""

from __future__ import annotations

import os


def environment_threads() -> int:
    """Cores from the environment (see the module docstring).

    >>> environment_threads() >= 1
    True
    """
    for name in ("INFOLOSS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").split(",")[0].strip()  # OpenMP allows "4,2" (nested)
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
