"""A worker's scratch directory, and the sweep that removes those of crashed workers.

A worker copies each file it processes into a private scratch directory and deletes
the copy when done. A worker killed with SIGKILL (the chaos tests, an OOM kill, a
power cut) never runs its clean-up, so its copies of people's documents would stay
behind. Scratch directories therefore live under one root owned by this installation,
``<data_dir>/tmp/workers/`` (mode 0700), and are named ``<host>-<pid>-<random>`` so
that a later worker can tell whose they are: at start-up it removes the directories
of *this* host whose process is gone.

Safety rules of the sweep:

* other hosts' directories are never touched (the data dir may be shared storage, and
  a pid means nothing on another machine);
* a directory whose pid is alive is kept. A dead worker's pid may since have been
  reused by an unrelated process; its directory then looks alive and is simply kept
  until a sweep after that process ends. That is the safe direction to be wrong in;
* symbolic links are never followed: a link in the root is unlinked, and directories
  are removed with :func:`shutil.rmtree`, which works relative to directory
  descriptors and does not follow links inside the tree;
* names that do not parse, and a missing or unreadable root, are left alone (logged,
  never an error). The root itself is used as configured: like the data directory,
  it may be a link an operator made on purpose.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import socket
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SCRATCH_FOLDER = Path("tmp") / "workers"
"""Where worker scratch directories live, relative to the data directory."""

_HOST_MAX = 64
_UNSAFE = re.compile(r"[^a-z0-9.-]")
# host is greedy, so a host containing dashes still parses: pid and the random part
# (mkdtemp's alphabet, no dash) are the last two fields.
_NAME = re.compile(r"(?P<host>[a-z0-9._-]+)-(?P<pid>[1-9][0-9]{0,9})-(?P<rand>[a-z0-9_]+)")


def host_tag(hostname: str | None = None) -> str:
    """This host's name as a safe file-name fragment (``[a-z0-9.-]``, at most 73 chars).

    Host names are case-insensitive, so the tag is lower case. A name that had to be
    changed further (other characters, leading dots, too long) gets a short hash of
    the original appended, so that two hosts never share a tag by accident.
    """
    original = socket.gethostname() if hostname is None else hostname
    tag = _UNSAFE.sub("_", original.lower()).lstrip(".")[:_HOST_MAX] or "host"
    if tag != original.lower():
        tag += "_" + hashlib.sha256(original.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return tag


def scratch_root(data_dir: str | os.PathLike[str]) -> Path:
    """The folder holding every worker scratch directory of this installation."""
    return Path(data_dir).expanduser() / SCRATCH_FOLDER


@dataclass(frozen=True)
class ScratchName:
    """The owner encoded in a scratch directory's name."""

    host: str
    pid: int

    @classmethod
    def parse(cls, name: str) -> ScratchName | None:
        """The owner of ``name``, or None when it is not a scratch directory name."""
        match = _NAME.fullmatch(name)
        if match is None:
            return None
        return cls(match["host"], int(match["pid"]))


def create_scratch(data_dir: str | os.PathLike[str]) -> Path:
    """Make a new private (0700) scratch directory for this process under the root."""
    root = scratch_root(data_dir)
    root.parent.parent.mkdir(parents=True, exist_ok=True)
    for folder in (root.parent, root):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    return Path(tempfile.mkdtemp(prefix=f"{host_tag()}-{os.getpid()}-", dir=root))


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (owned by anyone).

    Signal 0 checks without sending anything: ProcessLookupError means gone,
    PermissionError means alive but another user's. Any other doubt counts as alive.
    """
    if pid <= 0:
        return True  # os.kill(0, ...) would address our process group: never "dead"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError included: someone else's process
        return True
    return True


def sweep_stale(data_dir: str | os.PathLike[str], *, host: str | None = None) -> int:
    """Remove the scratch directories of this host's dead workers; return how many.

    ``host`` is the host tag to sweep for (default: this host's, see :func:`host_tag`).
    Never raises for a missing, unreadable or odd root, or for an entry that cannot
    be removed; those are logged and left.
    """
    root = scratch_root(data_dir)
    mine = host_tag() if host is None else host
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("cannot list worker scratch root %s: %s", root, exc)
        return 0
    removed = 0
    for entry in entries:
        owner = ScratchName.parse(entry.name)
        if owner is None or owner.host != mine or pid_alive(owner.pid):
            continue
        try:
            _remove(entry)
        except FileNotFoundError:
            continue  # another worker starting at the same time swept it first
        except OSError as exc:
            log.warning("cannot remove stale worker scratch %s: %s", entry.path, exc)
            continue
        removed += 1
    if removed:
        log.info("removed %d stale worker scratch dir(s) from %s", removed, root)
    return removed


def open_scratch(data_dir: str | os.PathLike[str]) -> Path:
    """What a starting worker calls: sweep the dead workers' leftovers, then create its own."""
    sweep_stale(data_dir)
    return create_scratch(data_dir)


def _remove(entry: os.DirEntry[str]) -> None:
    """Delete one root entry without following a link (a link is unlinked, not its target)."""
    mode = entry.stat(follow_symlinks=False).st_mode
    if stat.S_ISDIR(mode):
        # on Linux rmtree uses the fd-based implementation (rmtree.avoids_symlink_attacks):
        # links inside are unlinked, and a directory swapped for a link raises OSError.
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)
