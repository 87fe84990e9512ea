"""ScriptEvaluator: a trial is a run of the user's training script, in its own process group.

The evaluator writes the trial's parameters to a file, starts the trial command with the
environment naming that file (`ARCHSEARCH_TRIAL_PARAMETERS`) and a report channel
(`ARCHSEARCH_TRIAL_CHANNEL`), follows the channel while the command runs, and returns the
final metric the script reported. It never builds a model and never imports torch, so the
process running it stays light.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from archsearch.classic.parameters import to_parameters
from archsearch.classic.trial import PARAMETERS_ENV
from archsearch.evaluator.base import Metric, Reporter, TrialEvaluator, TrialInput
from archsearch.evaluator.reporter import CHANNEL_ENV
from archsearch.execution.logs import open_log
from archsearch.space import SearchSpace

log = logging.getLogger("archsearch.classic")

TAIL_LINES = 20
"""Lines of the script's last output quoted in the error of a failed trial."""


class TrialScriptError(RuntimeError):
    """The trial command exited with a non-zero code or was killed by a signal."""


class TrialStopped(RuntimeError):
    """The trial command was killed because the runner asked the trial to stop."""


class ScriptEvaluator(TrialEvaluator):
    """Evaluates a trial by running `command` (a shell string or an argv list) in `code_dir`.

    - The process gets `env` on top of this process's environment, plus the two classic
      variables and `PYTHONUNBUFFERED=1` (so that output reaches the log as it is printed;
      `env` may override it). It runs in its own session and process group.
    - Its stdout and stderr (merged) go to the trial log: to the file named by the reporter's
      `log_path` attribute when it has one (the thread backend sets it), else to this process's
      stdout (which the inline and local backends capture).
    - Intermediate reports are forwarded to the trial's reporter as they arrive; the last final
      report is the trial's result (a NaN makes the trial FAILED).
    - When `reporter.should_stop()` turns true (cancel, timeout) the whole process group gets
      SIGTERM, then SIGKILL after `kill_grace` seconds, and `TrialStopped` is raised.
    - A non-zero exit raises `TrialScriptError` with the exit code and the last lines of output.

    `search_space` gives the parameters their classic `_idx` entries; without it each entry
    holds `_value` only.
    """

    def __init__(
        self,
        command: str | Sequence[str],
        code_dir: str | os.PathLike[str] = ".",
        env: Mapping[str, str] | None = None,
        *,
        search_space: SearchSpace | None = None,
        kill_grace: float = 5.0,
    ) -> None:
        if isinstance(command, str):
            if not command.strip():
                raise ValueError("the trial command is empty")
        elif not command or not all(isinstance(part, str) for part in command):
            raise ValueError(f"the trial command must be a string or a list of strings: {command}")
        directory = Path(code_dir).resolve()
        if not directory.is_dir():
            raise ValueError(f"the trial code directory {directory} does not exist")
        bad_env = {k: v for k, v in (env or {}).items() if not isinstance(v, str)}
        if bad_env:
            raise ValueError(f"environment values must be strings, got {bad_env}")
        self.command: str | list[str] = command if isinstance(command, str) else list(command)
        self.code_dir = str(directory)
        self.env = dict(env or {})
        self.search_space = search_space
        self.kill_grace = float(kill_grace)

    def __repr__(self) -> str:
        return f"ScriptEvaluator({self.command!r}, code_dir={self.code_dir!r})"

    @property
    def command_text(self) -> str:
        """The command as one shell-quoted line (for messages)."""
        return self.command if isinstance(self.command, str) else shlex.join(self.command)

    def evaluate_trial(self, trial: TrialInput) -> Metric | None:
        """Run the trial command for `trial.arch` and return its final report (None if none)."""
        with tempfile.TemporaryDirectory(prefix="archsearch-trial-") as folder:
            params_path = os.path.join(folder, "parameters.json")
            channel_path = os.path.join(folder, "channel.jsonl")
            with open(params_path, "w", encoding="utf-8") as f:
                json.dump(self._parameters(trial.arch), f)
            open(channel_path, "w").close()
            env = {"PYTHONUNBUFFERED": "1", **os.environ, **self.env}
            env[PARAMETERS_ENV] = params_path
            env[CHANNEL_ENV] = channel_path
            return self._run(env, channel_path, trial.reporter)

    def _parameters(self, arch: Mapping[str, Any]) -> dict[str, Any]:
        if self.search_space is not None:
            return to_parameters(self.search_space, arch)
        return {label: {"_value": value} for label, value in arch.items()}

    def _run(self, env: dict[str, str], channel_path: str, reporter: Reporter) -> Metric | None:
        channel = _ChannelFollower(channel_path)
        final: list[Metric] = []

        def forward(record: dict[str, Any]) -> None:
            if record.get("type") == "intermediate":
                reporter.report(record.get("step"), record["metrics"])
            elif record.get("type") == "final":
                final.append(record["metrics"])

        with _OutputRelay(getattr(reporter, "log_path", None)) as relay:
            proc = subprocess.Popen(
                self.command,
                shell=isinstance(self.command, str),
                cwd=self.code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            stopped = False
            try:
                relay.start(proc.stdout)
                while not _exited(proc, 0.05):
                    channel.read(forward)
                    if reporter.should_stop():
                        stopped = True
                        break
            finally:
                # Whatever ends the wait (a stop, a timeout alarm, Ctrl-C), no process of the
                # trial outlives it: the group gets SIGTERM, then SIGKILL.
                terminate_group(proc, self.kill_grace)
        channel.read(forward)
        if stopped:
            raise TrialStopped(f"the trial command `{self.command_text}` was stopped")
        if proc.returncode != 0:
            raise TrialScriptError(_exit_message(self.command_text, proc.returncode, relay.tail()))
        return final[-1] if final else None


def _exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def terminate_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """End the process group led by `proc`: SIGTERM, up to `grace` seconds, then SIGKILL.

    Members left behind by a leader that already exited (a forgotten background child) get
    SIGKILL at once.
    """
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _exit_message(command: str, code: int, tail: list[str]) -> str:
    how = f"exited with code {code}"
    if code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    last = next((line.strip() for line in reversed(tail) if line.strip()), "")
    head = f"the trial command `{command}` {how}" + (f": {last}" if last else "")
    if not tail:
        return head + " (no output)"
    return head + "\nlast output:\n" + "\n".join(tail)


class _ChannelFollower:
    """Reads the complete JSON lines appended to the channel file since the last read."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0

    def read(self, handle: Callable[[dict[str, Any]], None]) -> None:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        self.offset += end
        for line in data[:end].splitlines():
            for record in _parse(line):
                handle(record)


def _parse(line: bytes) -> Iterator[dict[str, Any]]:
    if not line.strip():
        return
    try:
        record = json.loads(line)
    except ValueError:
        log.warning("ignoring a malformed report line: %r", line[:200])
        return
    if isinstance(record, dict) and isinstance(record.get("metrics"), dict):
        yield record
    else:
        log.warning("ignoring a report line without metrics: %r", line[:200])


class _OutputRelay:
    """Copies the trial's output pipe to its log (or this process's stdout), keeping a tail.

    A thread reads the pipe so that a chatty script never blocks on a full pipe; it ends at
    end of file, which comes once every process of the group has exited.
    """

    def __init__(self, log_path: str | None) -> None:
        self.log_path = log_path
        self.lines: deque[str] = deque(maxlen=TAIL_LINES)
        self.partial = ""
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _OutputRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread is not None:
            self.thread.join(10.0)

    def start(self, pipe: IO[bytes] | None) -> None:
        assert pipe is not None
        self.thread = threading.Thread(target=self._copy, args=(pipe,), daemon=True)
        self.thread.start()

    def tail(self) -> list[str]:
        """The last lines of output (a final unterminated line included)."""
        lines = list(self.lines)
        return [*lines, self.partial] if self.partial else lines

    def _copy(self, pipe: IO[bytes]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd: int | None = None
        try:
            fd = open_log(self.log_path) if self.log_path else None
        except OSError as exc:  # the output is still read, or the script blocks on a full pipe
            self._keep(f"[archsearch: cannot open the trial log {self.log_path}: {exc}]\n")
        echo = fd is None
        try:
            while chunk := os.read(pipe.fileno(), 65536):
                text = decoder.decode(chunk)
                self._keep(text)
                try:
                    if fd is not None:
                        os.write(fd, chunk)
                    elif echo:
                        sys.stdout.write(text)
                        sys.stdout.flush()
                except (OSError, ValueError):
                    # A full disk or a closed stdout loses output, never the trial: keep
                    # draining the pipe so the script does not block writing.
                    echo = False
                    if fd is not None:
                        os.close(fd)
                        fd = None
        finally:
            pipe.close()
            if fd is not None:
                os.close(fd)

    def _keep(self, text: str) -> None:
        *complete, self.partial = (self.partial + text).split("\n")
        self.lines.extend(line[:1000] for line in complete)
        self.partial = self.partial[-1000:]
