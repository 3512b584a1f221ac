# ruff: noqa
"""Legacy manager imported through a local shim."""

from app.compat import Manager  # expect: TL601

mgr = Manager()
