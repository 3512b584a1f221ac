"""Worker scratch directories: SIGKILLed workers' document copies are swept at the next start.

Everything here uses real processes: a child makes a scratch directory through the real
module and is SIGKILLed, so its pid is really dead; a live child is really alive; the
other-user case runs the sweep in a real unprivileged process (setpriv).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml
from dropzone_helpers import SLOW_WORKER, open_dz, rows, wait_for, zone_conf

from tidyllm.dropzones.scratch import (
    ScratchName,
    create_scratch,
    host_tag,
    scratch_root,
    sweep_stale,
)

# A real process that makes a scratch directory, puts a "document copy" in it, says
# where, and waits to be killed.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from tidyllm.dropzones.scratch import create_scratch
    path = create_scratch(sys.argv[1])
    (path / "file-1").write_text("a copy of someone's document")
    print(path, flush=True)
    time.sleep(300)
    """
)


def _holder(data_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise AssertionError(proc.communicate()[1][-2000:])
    return proc, Path(line)


def _killed_holder(data_dir: Path) -> tuple[int, Path]:
    """The pid and scratch directory of a holder that was SIGKILLed (and reaped)."""
    proc, path = _holder(data_dir)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert (path / "file-1").exists()  # the copy outlived its worker: what the sweep is for
    return proc.pid, path


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.communicate(timeout=10)


def test_scratch_is_private_under_the_data_dir_and_names_its_owner(data_dir):
    path = create_scratch(data_dir)
    root = scratch_root(data_dir)
    assert path.parent == root == data_dir / "tmp" / "workers"
    for folder in (root.parent, root, path):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert ScratchName.parse(path.name) == ScratchName(host_tag(), os.getpid())
    assert create_scratch(data_dir) != path  # two workers in one process never share one


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("Worker-7.Example.COM", "worker-7.example.com"),
        ("ip-10-0-0-1", "ip-10-0-0-1"),
    ],
)
def test_host_tag_keeps_safe_names_readable(hostname, expected):
    assert host_tag(hostname) == expected
    assert ScratchName.parse(f"{host_tag(hostname)}-42-ab_c9") == ScratchName(expected, 42)


@pytest.mark.parametrize(
    "hostname", ["../../etc", "a/b", "", "..", "x" * 300, "host\x00name", "hôte", "a b"]
)
def test_hostile_host_names_become_safe_distinct_tags(hostname):
    tag = host_tag(hostname)
    assert tag and len(tag) <= 73 and "/" not in tag and not tag.startswith(".")
    assert set(tag) <= set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    assert ScratchName.parse(f"{tag}-42-abcd1234") == ScratchName(tag, 42)
    assert host_tag(hostname) == tag and host_tag(hostname + "y") != tag


@pytest.mark.parametrize(
    "name",
    ["notes", "lost+found", "vm-42", "vm-0-abcd1234", "vm--abcd1234", "vm-42-ABCD", "vm-42-a-"],
)
def test_names_that_are_not_scratch_dirs_do_not_parse(name):
    assert ScratchName.parse(name) is None


def test_sweep_removes_only_this_hosts_dead_workers(data_dir, caplog):
    dead_pid, dead = _killed_holder(data_dir)
    live_proc, live = _holder(data_dir)
    try:
        root = scratch_root(data_dir)
        own = create_scratch(data_dir)
        other_host = root / f"{host_tag()}x-{dead_pid}-abcd1234"
        odd = [root / f"{host_tag()}-{dead_pid}-UPPER", root / "lost+found", root / "notes.txt"]
        for path in (other_host, odd[0], odd[1]):
            path.mkdir()
            (path / "file-9").write_text("kept")
        odd[2].write_text("kept")

        with caplog.at_level(logging.INFO, logger="tidyllm.dropzones.scratch"):
            assert sweep_stale(data_dir) == 1
        assert not dead.exists()
        assert (live / "file-1").exists() and own.exists()
        assert (other_host / "file-9").exists()
        assert all(p.exists() for p in odd)
        assert "removed 1 stale worker scratch dir(s)" in caplog.text
        assert sweep_stale(data_dir) == 0  # nothing left to do: idempotent
    finally:
        _stop(live_proc)
    assert sweep_stale(data_dir) == 1  # once the live one is gone, it goes too
    assert not live.exists() and own.exists()


def test_symlinks_are_unlinked_never_followed(data_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("must survive")
    dead_pid, dead = _killed_holder(data_dir)
    root = scratch_root(data_dir)
    (dead / "inner-link").symlink_to(outside, target_is_directory=True)
    planted = root / f"{host_tag()}-{dead_pid}-link0001"
    planted.symlink_to(outside, target_is_directory=True)
    dangling = root / f"{host_tag()}-{dead_pid}-dangle01"
    dangling.symlink_to(tmp_path / "nowhere")

    assert sweep_stale(data_dir) == 3
    assert not os.path.lexists(planted) and not os.path.lexists(dangling) and not dead.exists()
    assert (outside / "precious.txt").read_text() == "must survive"


def test_missing_or_odd_root_is_not_an_error(tmp_path, caplog):
    assert sweep_stale(tmp_path / "never-created") == 0
    not_a_dir = tmp_path / "file-root"
    scratch_root(not_a_dir).parent.mkdir(parents=True)
    scratch_root(not_a_dir).write_text("a file where the root should be")
    with caplog.at_level(logging.WARNING, logger="tidyllm.dropzones.scratch"):
        assert sweep_stale(not_a_dir) == 0
    assert "cannot list worker scratch root" in caplog.text
    dangling = tmp_path / "dangling-root"
    scratch_root(dangling).parent.mkdir(parents=True)
    scratch_root(dangling).symlink_to(tmp_path / "gone")
    assert sweep_stale(dangling) == 0


_NOBODY_SWEEP = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.INFO)\n"
    "from tidyllm.dropzones.scratch import sweep_stale\n"
    "print(sweep_stale(sys.argv[1]))\n"
)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to run the sweep as another user",
)
def test_other_users_processes_count_as_alive_and_unreadable_root_is_skipped():
    """As `nobody`, os.kill(pid, 0) on a root-owned live pid raises PermissionError."""
    nobody = 65534
    base = Path(tempfile.mkdtemp(prefix="tidyllm-test-scratch-"))
    try:
        _, dead = _killed_holder(base)
        root = scratch_root(base)
        others = root / f"{host_tag()}-{os.getpid()}-abcd1234"  # this test: alive, root's
        others.mkdir()
        for dirpath, dirnames, filenames in os.walk(base):
            for name in [dirpath, *(Path(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, nobody, nobody)
        args = ["setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups"]
        args += [sys.executable, "-c", _NOBODY_SWEEP, str(base)]
        swept = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd="/")
        assert (swept.returncode, swept.stdout.strip()) == (0, "1"), swept.stderr[-2000:]
        assert not dead.exists() and others.exists()

        root.chmod(0)  # unreadable to its owner (root itself would still read it)
        blocked = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd="/")
        assert (blocked.returncode, blocked.stdout.strip()) == (0, "0"), blocked.stderr[-2000:]
        assert "cannot list worker scratch root" in blocked.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_sigkilled_cli_worker_leaves_no_document_copies(data_dir, database_url, tmp_path):
    """A real `tidyllm worker` is SIGKILLed holding a copy; the next worker removes it."""
    zone_root = tmp_path / "zone"
    (zone_root / "incoming").mkdir(parents=True)
    (zone_root / "incoming" / "held.txt").write_text("confidential words")
    zones = [zone_conf("docs", str(zone_root), pipeline="slow,archive")]
    config = tmp_path / "tidyllm.yaml"
    config.write_text(yaml.safe_dump({"zones": zones}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(
        TIDYLLM_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        TIDYLLM_CONFIG=str(config),
        SLOW_STEP_SECONDS="60",
    )
    args = [sys.executable, "-c", SLOW_WORKER, "worker", "--no-track", "--lease-seconds", "2"]
    root = scratch_root(data_dir)
    with open_dz(data_dir, database_url, zones) as dz:
        victim = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            copies = wait_for(lambda: list(root.glob("*/file-*")), timeout=60)
        except AssertionError:
            victim.kill()
            raise AssertionError(victim.communicate()[1].decode()[-3000:]) from None
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.communicate(timeout=10)
        (copy,) = copies
        assert copy.read_text() == "confidential words"
        assert ScratchName.parse(copy.parent.name) == ScratchName(host_tag(), victim.pid)

        env["SLOW_STEP_SECONDS"] = "0"
        rescue = subprocess.run([*args, "--once"], env=env, capture_output=True, timeout=120)
        assert rescue.returncode == 0, rescue.stderr.decode()[-2000:]
        (row,) = rows(dz)
    assert (row["state"], row["attempts"]) == ("done", 2)
    assert list(root.rglob("file-*")) == []
    assert list(root.iterdir()) == []  # the dead worker's dir swept, the rescuer's removed
