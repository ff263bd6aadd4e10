"""The ``infoloss`` command (click + rich). It depends on every subpackage; nothing depends on it.

``main`` (the click group) lives in :mod:`infoloss.cli.main`; each command in its own module.
Importing any module of this package loads ``main`` first, so the commands, which import the
shared console and error format from it, always find it complete.
"""

from .main import main

__all__ = ["main"]
