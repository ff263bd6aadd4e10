"""The ``infoloss`` command (click + rich). It depends on every subpackage; nothing depends on it.

``main`` (the click group) lives in :mod:`infoloss.cli.main`; each command in its own module.
"""
