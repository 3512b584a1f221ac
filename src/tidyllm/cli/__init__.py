"""The ``tidyllm`` command line: thin commands over the library (Typer + Rich live only here)."""
