"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tidyllm.errors import AccessError

MIN_LENGTH = 8
#: Hashing cost grows with the input; a cap keeps a megabyte "password" from costing more.
MAX_LENGTH = 1024


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def check_password(password: object) -> str:
    """``password`` if acceptable (a string of 8-1024 characters); the error never quotes it."""
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise AccessError(
            f"a password must be {MIN_LENGTH} to {MAX_LENGTH} characters",
            hint="choose a longer one (a passphrase of a few words is easy to type)",
        )
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; the string says its parameters)."""
    return _hasher().hash(check_password(password))


def verify_password(password_hash: str, password: object) -> bool:
    """Whether ``password`` matches ``password_hash``; False for anything malformed."""
    if not isinstance(password, str) or not password or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash on login)."""
    return _hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so that a login for an
    unknown name costs as long as one for a real user (no timing leak of who exists)."""
    return _hasher().hash("tidyllm-no-such-user")
