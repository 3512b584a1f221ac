"""The HTTP layer: ``tidyllm serve`` runs one ASGI app over the same library as the CLI.

Handlers are thin (parse, call one library function, render); the acting user comes
from :mod:`tidyllm.server.auth` and is passed to the library, which filters by grant.
"""
