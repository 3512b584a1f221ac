"""The encrypted credential store: named secrets, Fernet-encrypted at rest.

The whole store (names and values) is one Fernet token in
``DATA/credentials.enc``, written atomically with mode 0600. The key comes
from, in order: ``TIDYLLM_MASTER_KEY``, the OS keyring (when a real backend
exists), or a 0600 key file ``DATA/master.key`` created on first use. The
key file is the weakest option (it sits beside the store); ``doctor`` names
which one is in use.

Settings refer to secrets as ``secret:NAME``; :func:`resolve_secret` reads the
store at every call, so a rotated secret reaches new connections without a
restart. ``TIDYLLM_SECRET_<NAME>`` in the environment overrides the store.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from tidyllm.errors import CredentialError
from tidyllm.redaction import register_secret
from tidyllm.settings.schema import SECRET_PREFIX

MASTER_KEY_ENV = "TIDYLLM_MASTER_KEY"
SECRET_ENV_PREFIX = "TIDYLLM_SECRET_"  # noqa: S105 - a name prefix, not a secret
KEYRING_SERVICE = "tidyllm"
STORE_FILE = "credentials.enc"
KEY_FILE = "master.key"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")


def validate_name(name: str) -> str:
    """Secret names are short identifiers, so they are safe in files, env names and output."""
    if not _NAME.fullmatch(name):
        raise CredentialError(
            "secret names start with a letter and use only letters, digits, '_', '.', '-' "
            "(at most 128 characters)"
        )
    return name


@dataclass(frozen=True)
class MasterKey:
    """A Fernet key and where it came from (for ``doctor``; never the key itself)."""

    key: bytes
    source: str

    def __repr__(self) -> str:
        return f"MasterKey(source={self.source!r})"


def _keyring_usable() -> bool:
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return False
    backend = keyring.get_keyring()
    return not isinstance(backend, fail.Keyring | null.Keyring) and backend.priority > 0


def load_master_key(data_dir: Path, environ: Mapping[str, str], *, create: bool) -> MasterKey:
    """Find the master key; create a key file only when ``create`` (i.e. on first write)."""
    if environ.get(MASTER_KEY_ENV):
        raw = environ[MASTER_KEY_ENV].encode()
        register_secret(environ[MASTER_KEY_ENV])
        _check_key(raw, f"env {MASTER_KEY_ENV}")
        return MasterKey(raw, f"env {MASTER_KEY_ENV}")
    if _keyring_usable():
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, "master-key")
        if stored is None and create:
            stored = Fernet.generate_key().decode()
            keyring.set_password(KEYRING_SERVICE, "master-key", stored)
        if stored is not None:
            register_secret(stored)
            return MasterKey(stored.encode(), "OS keyring")
    path = data_dir / KEY_FILE
    if not path.exists():
        if not create:
            raise CredentialError(_missing_key_message(data_dir, path))
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    raw = path.read_bytes().strip()
    register_secret(raw.decode(errors="replace"))
    _check_key(raw, f"key file {path}")
    return MasterKey(raw, f"key file {path}")


def _missing_key_message(data_dir: Path, key_file: Path) -> str:
    store = data_dir / STORE_FILE
    if not store.exists():
        return f"no master key: set {MASTER_KEY_ENV} or store a secret first"
    # The secrets exist but nothing can decrypt them: never suggest making a new key here.
    return (
        f"the credential store {store} exists but its master key was not found "
        f"(not in {MASTER_KEY_ENV}, the OS keyring or {key_file}); restore that key, "
        f"or delete {store} and set its secrets again"
    )


def _check_key(raw: bytes, source: str) -> None:
    try:
        Fernet(raw)
    except (ValueError, TypeError):
        raise CredentialError(
            f"the master key from {source} is not a valid key "
            "(expected 32 url-safe base64-encoded bytes, as made by `tidyllm credentials new-key`)"
        ) from None


class CredentialStore:
    """Named secrets, encrypted at rest. Values are registered for redaction when read."""

    def __init__(self, data_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / STORE_FILE
        self._environ = os.environ if environ is None else environ

    def __repr__(self) -> str:
        return f"CredentialStore(path={str(self.path)!r})"

    def key_source(self) -> str:
        """Where the master key comes from (raises CredentialError when there is none)."""
        return load_master_key(self.data_dir, self._environ, create=False).source

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        key = load_master_key(self.data_dir, self._environ, create=False)
        try:
            plain = Fernet(key.key).decrypt(self.path.read_bytes())
        except InvalidToken:
            raise CredentialError(
                f"cannot decrypt {self.path} with the master key from {key.source}: "
                "wrong key, or the file is damaged"
            ) from None
        data = json.loads(plain)
        for value in data.values():
            register_secret(value)
        return data

    def _write(self, data: dict[str, str]) -> None:
        key = load_master_key(self.data_dir, self._environ, create=True)
        token = Fernet(key.key).encrypt(json.dumps(data, sort_keys=True).encode())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".credentials-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(token)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def names(self) -> list[str]:
        """Stored secret names, sorted. Never the values."""
        return sorted(self._read())

    def get(self, name: str) -> str:
        """The secret called ``name``: the environment override first, then the store."""
        validate_name(name)
        env_name = SECRET_ENV_PREFIX + name.upper().replace(".", "_").replace("-", "_")
        if self._environ.get(env_name):
            register_secret(self._environ[env_name])
            return self._environ[env_name]
        data = self._read()
        if name not in data:
            raise CredentialError(
                f"secret {name!r} is not set: run `tidyllm credentials set {name}` "
                f"or set {env_name}"
            )
        return data[name]

    def set(self, name: str, value: str) -> None:
        """Store or replace (rotate) a secret."""
        validate_name(name)
        if not value:
            raise CredentialError(f"refusing to store an empty value for {name!r}")
        register_secret(value)
        data = self._read()
        data[name] = value
        self._write(data)

    def delete(self, name: str) -> bool:
        """Remove a secret; returns whether it existed."""
        validate_name(name)
        data = self._read()
        existed = data.pop(name, None) is not None
        if existed:
            self._write(data)
        return existed


def resolve_secret(value: SecretStr | None, store: CredentialStore) -> str | None:
    """The plain value of a secret setting, following ``secret:NAME`` into the store."""
    if value is None:
        return None
    raw = value.get_secret_value()
    if raw.startswith(SECRET_PREFIX):
        return store.get(raw[len(SECRET_PREFIX) :])
    register_secret(raw)
    return raw
