"""Start an external program with a timeout; kill its whole process group when time runs out.

Every program we run reads hostile input (a unit's `.doc`, video or `.rar`), so any of them may
hang.  LibreOffice's `soffice` is a wrapper script around `soffice.bin`, so killing only the
direct child would leave the real worker running: the program gets a process group of its own
and the timeout kills the group.  `PR_SET_PDEATHSIG` makes the kernel kill the direct child
should the service itself die (SIGKILL, OOM) while it waits.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_PR_SET_PDEATHSIG = 1


class ProgramMissing(Exception):
    """The program is not installed here, or cannot be started: our problem, not the unit's."""


@dataclass(frozen=True)
class Completed:
    """How a run ended: its exit status and output, or that it ran out of time and was killed."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.returncode == 0

    def tail(self, limit: int = 500) -> str:
        """The end of what the program said, for a staff log line."""
        return (self.stderr or self.stdout).decode("utf-8", "replace").strip()[-limit:]


def die_with_parent() -> None:
    """For `preexec_fn`: the kernel kills the child when the process that started it dies."""
    # Runs in the child between fork and exec.  Best effort: not every libc is glibc.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _limit_files_then_die_with_parent(max_file_size: int) -> None:
    # The kernel refuses (SIGXFSZ, then EFBIG) any write past this size, to any file.
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_size, max_file_size))
    die_with_parent()


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    stdout: BinaryIO | None = None,
    max_file_size: int | None = None,
) -> Completed:
    """Run `argv` to completion or until `timeout` seconds pass, whichever comes first.

    `stdout`: a file the program writes to directly, for output too big to hold in memory
    (`Completed.stdout` is then empty); `max_file_size` caps every file it writes, that one too.
    Raises `ProgramMissing` when the program cannot be started at all.  Never raises for what
    the program does: a non-zero exit or a timeout comes back in the `Completed`.
    """
    started = time.monotonic()
    preexec = (
        die_with_parent
        if max_file_size is None
        else functools.partial(_limit_files_then_die_with_parent, max_file_size)
    )
    try:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=preexec,  # noqa: PLW1509 - no threads touched before exec
        )
    except OSError as exc:
        raise ProgramMissing(f"cannot start {argv[0]}: {exc}") from exc
    try:
        out, err = proc.communicate(input=stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        return Completed(tuple(argv), None, b"", b"", time.monotonic() - started, timed_out=True)
    except BaseException:
        # Interrupted (KeyboardInterrupt, a stop signal): never leave the program behind.
        kill_group(proc)
        raise
    return Completed(tuple(argv), proc.returncode, out or b"", err, time.monotonic() - started)


def pid_alive(pid: int) -> bool:
    """Is a process of this id running on this host (ours or another user's)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the program and everything it started, then reap it."""
    # Not yet reaped, so the group id is still ours to kill.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=5)
