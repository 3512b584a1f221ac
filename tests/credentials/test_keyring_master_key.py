"""The master key in a real OS-keyring backend (keyrings.alt's file keyring), end to end.

No desktop keyring runs on a server, so the backend is ``keyrings.alt``'s
``PlaintextKeyring``: a real keyring backend (priority 0.5, selected through
``PYTHON_KEYRING_BACKEND`` exactly as an operator would) that stores entries
in a file under ``XDG_DATA_HOME``. Every command runs in a fresh process, as a
user would type it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tidyllm.credentials import KEY_FILE, STORE_FILE

CANARY = "kr-canary-7Qm2vX9pLd"  # a secret value that must never be printed


@pytest.fixture
def keyring_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "TIDYLLM_DATA_DIR": str(tmp_path / "data"),
    }


def _tidyllm(env: dict[str, str], *args: str, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-c", "from tidyllm.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
    )


def _python(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _keyring_key(env: dict[str, str]) -> str | None:
    code = "import keyring; print(keyring.get_password('tidyllm', 'master-key'))"
    value = _python(env, code)
    return None if value == "None" else value


def test_the_first_secret_puts_a_new_master_key_in_the_keyring(keyring_env, tmp_path) -> None:
    stored = _tidyllm(keyring_env, "credentials", "set", "db-password", "--stdin", stdin=CANARY)
    assert stored.returncode == 0, stored.stderr
    data = tmp_path / "data"
    assert not (data / KEY_FILE).exists()  # the keyring holds the key, not a file
    assert CANARY.encode() not in (data / STORE_FILE).read_bytes()  # encrypted at rest
    key = _keyring_key(keyring_env)
    assert key is not None and len(key) == 44  # a Fernet key

    check = _tidyllm(keyring_env, "credentials", "check")
    assert check.returncode == 0, check.stderr
    assert "master key from OS keyring" in check.stdout
    read = "from tidyllm.credentials import CredentialStore as S; import os; "
    read += "print(S(os.environ['TIDYLLM_DATA_DIR']).get('db-password') == " + repr(CANARY) + ")"
    assert _python(keyring_env, read) == "True"  # another process decrypts with the keyring key

    outputs = [stored, check, _tidyllm(keyring_env, "credentials", "list")]
    outputs.append(_tidyllm(keyring_env, "config", "show"))
    for done in outputs:
        assert key not in done.stdout + done.stderr
        assert CANARY not in done.stdout + done.stderr


def test_the_environment_key_wins_over_the_keyring(keyring_env, tmp_path) -> None:
    env_key = _python(
        keyring_env, "from cryptography.fernet import Fernet as F; print(F.generate_key().decode())"
    )
    env = {**keyring_env, "TIDYLLM_MASTER_KEY": env_key}
    assert _tidyllm(env, "credentials", "set", "token", "--stdin", stdin=CANARY).returncode == 0
    assert _keyring_key(keyring_env) is None  # nothing was written to the keyring
    check = _tidyllm(env, "credentials", "check")
    assert "master key from env TIDYLLM_MASTER_KEY" in check.stdout
    # Without the env key, the keyring has none and there is no key file: a clear error.
    lost = _tidyllm(keyring_env, "credentials", "list")
    assert lost.returncode == 1 and "Traceback" not in lost.stderr
    assert "exists but its master key was not found" in lost.stderr


def test_a_lost_keyring_entry_is_a_clear_error_and_no_new_key_is_made(keyring_env) -> None:
    assert _tidyllm(keyring_env, "credentials", "set", "a", "--stdin", stdin=CANARY).returncode == 0
    before = (Path(keyring_env["TIDYLLM_DATA_DIR"]) / STORE_FILE).read_bytes()
    _python(keyring_env, "import keyring; keyring.delete_password('tidyllm', 'master-key')")

    for args in (("credentials", "list"), ("credentials", "set", "b", "--stdin")):
        done = _tidyllm(keyring_env, *args, stdin="other-value")
        assert done.returncode == 1, done.stdout
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert "restore that key" in done.stderr and "store a secret first" not in done.stderr
    # Nothing was overwritten: no new key in the keyring, the store is byte for byte the same.
    assert _keyring_key(keyring_env) is None
    assert (Path(keyring_env["TIDYLLM_DATA_DIR"]) / STORE_FILE).read_bytes() == before
