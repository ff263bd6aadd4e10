"""Running ``infoloss`` on hostile input: a child process under a memory limit and a hang guard.

The limit (2 GiB of address space, ``resource.RLIMIT_AS``) turns "reads it whole" into a
failure the test sees; the guard (60 s) is against running forever, not a speed target.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile

MEMORY_LIMIT = 2 << 30
HANG_GUARD_S = 60


def run_infoloss(args) -> subprocess.CompletedProcess:
    """``python -m infoloss ARGS`` limited as above; stdout and stderr as text (bytes decoded leniently)."""
    done = subprocess.run(
        [sys.executable, "-m", "infoloss", *map(os.fsencode, args)],
        capture_output=True,
        timeout=HANG_GUARD_S,
        preexec_fn=_limit_memory,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", errors="replace"),
        done.stderr.decode("utf-8", errors="replace"),
    )


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def case_names(generate) -> list[str]:
    """The names of the cases a corpus generator makes (generated once into a scratch folder),
    for ``pytest.mark.parametrize``; the test's fixture generates the files it runs on."""
    with tempfile.TemporaryDirectory() as directory:
        return [case.name for case in generate(directory)]
