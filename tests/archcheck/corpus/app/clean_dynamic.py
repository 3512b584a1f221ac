# ruff: noqa
"""Dynamic imports of harmless modules, and non-constant ones."""

import importlib

json = importlib.import_module("json")
data = json.loads("{}")


def load(name):
    return importlib.import_module(name).main()
