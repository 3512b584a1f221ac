"""The encrypted credential store: round trips, key sources, rotation, bad keys."""

import os
import stat

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from tidyllm.credentials import CredentialStore, resolve_secret
from tidyllm.errors import CredentialError

CANARY = "canary-Secret-7f3a9b"


def test_round_trip_with_key_file(data_dir):
    store = CredentialStore(data_dir, environ={})
    store.set("db_password", CANARY)
    assert store.get("db_password") == CANARY
    assert store.names() == ["db_password"]
    assert store.key_source().startswith("key file")
    key_mode = stat.S_IMODE(os.stat(data_dir / "master.key").st_mode)
    store_mode = stat.S_IMODE(os.stat(data_dir / "credentials.enc").st_mode)
    assert key_mode == 0o600 and store_mode == 0o600


def test_values_are_encrypted_at_rest(data_dir):
    CredentialStore(data_dir, environ={}).set("api", CANARY)
    raw = (data_dir / "credentials.enc").read_bytes()
    assert CANARY.encode() not in raw and b"api" not in raw


def test_master_key_from_environment(data_dir):
    env = {"TIDYLLM_MASTER_KEY": Fernet.generate_key().decode()}
    store = CredentialStore(data_dir, environ=env)
    store.set("x", CANARY)
    assert not (data_dir / "master.key").exists()
    assert store.key_source() == "env TIDYLLM_MASTER_KEY"
    assert CredentialStore(data_dir, environ=env).get("x") == CANARY


def test_wrong_master_key_is_a_clear_error(data_dir):
    CredentialStore(data_dir, environ={"TIDYLLM_MASTER_KEY": Fernet.generate_key().decode()}).set(
        "x", CANARY
    )
    other = CredentialStore(
        data_dir, environ={"TIDYLLM_MASTER_KEY": Fernet.generate_key().decode()}
    )
    with pytest.raises(CredentialError, match="wrong key") as info:
        other.get("x")
    assert CANARY not in str(info.value)


def test_malformed_master_key(data_dir):
    store = CredentialStore(data_dir, environ={"TIDYLLM_MASTER_KEY": "not-a-key"})
    with pytest.raises(CredentialError, match="not a valid key"):
        store.set("x", "value")


def test_damaged_store_file(data_dir):
    store = CredentialStore(data_dir, environ={})
    store.set("x", CANARY)
    (data_dir / "credentials.enc").write_bytes(b"garbage")
    with pytest.raises(CredentialError, match="damaged"):
        store.get("x")


def test_missing_secret_says_how_to_set_it(data_dir):
    store = CredentialStore(data_dir, environ={})
    store.set("present", "v1234")
    with pytest.raises(CredentialError, match="tidyllm credentials set absent"):
        store.get("absent")


def test_environment_override_by_name(data_dir):
    store = CredentialStore(data_dir, environ={"TIDYLLM_SECRET_DB_PASSWORD": CANARY})
    assert store.get("db_password") == CANARY


def test_rotation_is_seen_by_the_next_resolve(data_dir):
    store = CredentialStore(data_dir, environ={})
    store.set("db_password", "first-value")
    ref = SecretStr("secret:db_password")
    assert resolve_secret(ref, store) == "first-value"
    store.set("db_password", "second-value")
    assert resolve_secret(ref, store) == "second-value"


def test_delete(data_dir):
    store = CredentialStore(data_dir, environ={})
    store.set("a", "value-a")
    assert store.delete("a") is True
    assert store.delete("a") is False
    assert store.names() == []


@pytest.mark.parametrize("name", ["", "../x", "a b", "x\n", "1abc", "a" * 200, "é"])
def test_hostile_names_are_refused(data_dir, name):
    with pytest.raises(CredentialError, match="secret names"):
        CredentialStore(data_dir, environ={}).set(name, "value")


def test_empty_value_is_refused(data_dir):
    with pytest.raises(CredentialError, match="empty"):
        CredentialStore(data_dir, environ={}).set("a", "")


def test_repr_shows_no_secret(data_dir):
    store = CredentialStore(data_dir, environ={})
    store.set("a", CANARY)
    assert CANARY not in repr(store)
