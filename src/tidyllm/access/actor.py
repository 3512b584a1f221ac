"""Who is acting: the identity every access-controlled library call is made for."""

from __future__ import annotations

from dataclasses import dataclass

from tidyllm.access.roles import Role, check_role

OPERATOR_NAME = "operator"


@dataclass(frozen=True)
class Actor:
    """An authenticated user (or the operator) with the role they had when authenticated.

    ``user_id`` is None only for the operator: whoever runs the CLI with the machine's
    database credentials, an admin with no user row. An HTTP request gets its actor from
    :func:`~tidyllm.access.authenticate_token` or
    :func:`~tidyllm.access.authenticate_password`, never from what the client claims.
    """

    user_id: int | None
    name: str
    role: Role

    def __post_init__(self) -> None:
        check_role(self.role)
        if self.user_id is None and self.role != "admin":
            raise ValueError("only the operator acts without a user row, and it is an admin")

    @classmethod
    def operator(cls) -> Actor:
        """The CLI's actor: the machine's credentials, admin everywhere, no user row."""
        return cls(None, OPERATOR_NAME, "admin")

    @property
    def is_admin(self) -> bool:
        """Admins see and may do everything, without grants."""
        return self.role == "admin"


def acting(actor: Actor | None) -> Actor:
    """``actor``, or the operator when None (library calls made without an actor)."""
    return Actor.operator() if actor is None else actor
