"""The ``tidyllm`` command line: thin commands over the library (Typer + Rich live only here)."""

from tidyllm.cli.helpfmt import install as _install_help_placeholders

_install_help_placeholders()
