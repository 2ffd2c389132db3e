"""A second process beside a run: a generic executor for picklable tasks.

The network analysis is mostly Python and holds the GIL, so threads barely overlap with
it (measured: 23 s with threads against 27 s in sequence for Rotterdam). A spawned process
does. :class:`SecondProcess` runs module-level functions there and knows nothing of what
they do: it imports nothing from the rest of bcba, so the engine (and anyone else) can use
it without an import cycle.

Large objects are handed over once with :meth:`SecondProcess.put` and referred to by
:class:`Held` in later tasks. They travel through a private file (``/dev/shm`` when the
system has it; the folder is 0700, the file 0600, both removed as soon as they are read)
because the pool's pipe is written 64 kB at a time by a thread that must win the GIL back
from a busy process for every piece (3-4 s for a city's inputs instead of 1). Objects
marked ``private`` (personal data, such as the real names a leak check needs) never touch
a file: they go through the pipe.

A spawned (not forked) process is used because a Jupyter kernel has threads, and forking
a threaded process, or one whose OpenMP runtime is in use, can deadlock. The second process
ends by itself when its parent dies (it watches its parent's process id), and hand-over
folders left by a killed run are removed when the next one starts.

When the second process cannot be started or dies, the work runs in this process instead
(logged), so a run never fails for want of parallelism. ``BCBA_TWEEDE_PROCES=0`` turns the
second process off (a one-core machine gains nothing from it).

:func:`guarded` starts a third, tiny process for a whole run, :class:`RunGuard`: when the
run's process is killed (``kill -9``, the out-of-memory killer) it stops the processes the
run started, removes the run's temporary files and calls what the run registered (mark the
run folder incomplete, close the audit entry).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = [
    "Held",
    "RunGuard",
    "SecondProcess",
    "Task",
    "guarded",
    "remove_stale_folders",
    "remove_stale_handover",
]

HANDOVER_PREFIX = "bcba-overdracht-"
#: Prefix of a run's private temporary folder (``TMPDIR`` of the run and its children).
RUN_PREFIX = "bcba-run-"
#: Environment variable marking every process of a guarded run (the mark: the folder name).
RUN_ENV = "BCBA_RUN"
_held: dict[str, object] = {}  # in the second process: objects put there, by name


@dataclass(frozen=True)
class Held:
    """An argument that refers to an object handed over with :meth:`SecondProcess.put`."""

    name: str


@dataclass
class Task:
    """A submitted call: what was asked (to redo it here if need be) and its future."""

    fn: object
    args: tuple
    kwargs: dict
    future: Future | None = None
    handover: Path | None = field(default=None, repr=False)


def _handover_bases() -> list[Path]:
    shm = Path("/dev/shm")
    bases = [Path(tempfile.gettempdir())]
    if shm.is_dir() and os.access(shm, os.W_OK):
        bases.insert(0, shm)
    return bases


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs; a zombie (killed, not yet reaped by its new parent)
    does not: its folders are stale."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):  # no /proc (not Linux): trust the signal
        return True


def remove_stale_folders(prefix: str) -> list[Path]:
    """Remove the private temporary folders ``<prefix><pid>-…`` whose owning process is
    gone (a killed run), in ``/dev/shm`` and the temporary folder; return them."""
    removed = []
    for base in _handover_bases():
        for folder in base.glob(f"{prefix}*"):
            pid_text = folder.name[len(prefix) :].split("-", 1)[0]
            if not pid_text.isdigit() or process_alive(int(pid_text)):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def remove_stale_handover() -> list[Path]:
    """Remove hand-over folders whose owning process is gone (a killed run); return them."""
    return remove_stale_folders(HANDOVER_PREFIX)


def _handover_dir() -> Path:
    """A private (0700) folder for the objects passed between the processes."""
    base = _handover_bases()[0]
    return Path(tempfile.mkdtemp(prefix=f"{HANDOVER_PREFIX}{os.getpid()}-", dir=base))


def _dump(obj, path: Path) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "wb") as handle:
        pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _load(path: Path):
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    finally:
        path.unlink(missing_ok=True)


def _watch_parent(parent: int) -> None:
    """In the second process: end when the process that started it is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="bcba-ouder", daemon=True).start()


def _start(parent: int, modules: Sequence[str]) -> None:
    """Second-process start-up: watch the parent, then import what the work will need."""
    _watch_parent(parent)
    for name in modules:
        importlib.import_module(name)


def _store(name: str, obj: object) -> None:
    _held[name] = obj


def _store_from_file(name: str, path: Path) -> None:
    _held[name] = _load(path)


def _resolve(args: tuple, kwargs: dict, held: dict) -> tuple[tuple, dict]:
    def one(value):
        return held[value.name] if isinstance(value, Held) else value

    return tuple(one(a) for a in args), {k: one(v) for k, v in kwargs.items()}


def _run(fn, work: Path, result: Path) -> Path:
    """In the second process: read the work from its file, run it, write the result back."""
    args, kwargs = _resolve(*_load(work), _held)
    return _dump(fn(*args, **kwargs), result)


class SecondProcess:
    """One spawned worker process, started at creation; use as a context manager.

    >>> with SecondProcess(warm_up=["bcba.spatial"]) as worker:     # doctest: +SKIP
    ...     data = worker.put("inputs", inputs)
    ...     task = worker.submit(analyse_spatial, data, indicators)
    ...     spatial = worker.result(task)
    """

    def __init__(self, *, enabled: bool = True, warm_up: Sequence[str] = ()) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._folder: Path | None = None
        self._handed = 0
        self._local: dict[str, object] = {}  # what was put, for work that runs here
        if not enabled or os.environ.get("BCBA_TWEEDE_PROCES", "1") == "0":
            return
        remove_stale_handover()
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(os.getpid(), tuple(warm_up)),
            )
            self._pool.submit(int)  # starts the process now, while this one reads the inputs
        except (OSError, RuntimeError) as exc:  # no processes allowed here: work in-process
            log.warning("tweede proces niet gestart (%s); alles draait in dit proces", exc)
            self._pool = None

    @property
    def active(self) -> bool:
        """Whether work is sent to a second process (else it runs here)."""
        return self._pool is not None

    def __enter__(self) -> SecondProcess:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            if exc_type is None:
                # the worker frees its gigabytes on the way out (about a second for a city);
                # nothing is left for it to do, so that need not hold up this process
                pool.shutdown(wait=False, cancel_futures=True)
            else:
                # the run failed and its kernel is about to be killed with all its process
                # group (resource tracker included): stop the worker and close the pool now,
                # so that the pool's named semaphores are removed from /dev/shm
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.kill()
                pool.shutdown(wait=True, cancel_futures=True)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _next_path(self, suffix: str) -> Path:
        self._folder = self._folder or _handover_dir()
        self._handed += 1
        return self._folder / f"werk{self._handed}{suffix}"

    def put(self, name: str, obj: object, *, private: bool = False) -> Held:
        """Hand ``obj`` over once; later tasks receive it for ``Held(name)``.

        ``private`` objects (personal data) go through the pool's pipe and are never
        written to a file.
        """
        self._local[name] = obj
        if self._pool is not None:
            try:
                if private:
                    self._pool.submit(_store, name, obj)
                else:
                    path = _dump(obj, self._next_path(".pickle"))
                    self._pool.submit(_store_from_file, name, path)
            except (BrokenProcessPool, RuntimeError, OSError) as exc:
                log.warning("tweede proces niet beschikbaar (%s); werk draait hier", exc)
                self._pool = None
        return Held(name)

    def submit(self, fn, /, *args, **kwargs) -> Task:
        """Start ``fn(*args, **kwargs)`` in the second process (or later here, see
        :meth:`result`); ``fn`` must be a module-level function."""
        task = Task(fn, args, kwargs)
        if self._pool is None:
            return task
        try:
            work = _dump((args, kwargs), self._next_path(".pickle"))
            task.handover = self._next_path(".resultaat")
            task.future = self._pool.submit(_run, fn, work, task.handover)
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            log.warning("tweede proces niet beschikbaar (%s); werk draait hier", exc)
            task.future = None
        return task

    def result(self, task: Task):
        """The outcome of ``task``; it runs here when the second process is off or failed.

        Errors raised by the task itself (bad data, configuration) are raised as they are.
        """
        if task.future is not None:
            try:
                return _load(task.future.result())
            except BrokenProcessPool as exc:
                log.warning("tweede proces afgebroken (%s); werk wordt hier herhaald", exc)
                self._pool = None
        args, kwargs = _resolve(task.args, task.kwargs, self._local)
        return task.fn(*args, **kwargs)

    def done(self, task: Task) -> bool:
        """Whether ``task`` has finished (always true for work that runs here)."""
        return task.future is None or task.future.done()


# --------------------------------------------------------------------------- the run guard
_active: RunGuard | None = None


class RunGuard:
    """A small process beside a run that cleans up after it if the run is killed.

    ``kill -9``, the out-of-memory killer or a closed terminal end a process without running
    its ``finally`` blocks, and its children (the report kernel, the second process, the
    resource tracker, Chromium) and temporary files would stay. The guard holds the read end
    of a pipe from the run's process. When the pipe closes without the word ``klaar`` (sent
    by :meth:`close`), the run's process is gone, and the guard

    1. stops every process carrying the run's mark (:data:`RUN_ENV`) in its environment;
    2. removes the run's private temporary folder;
    3. calls the functions registered with :meth:`on_death`, in order (e.g. mark the run
       folder incomplete, write the audit entry of the failed run);
    4. removes the hand-over folders of dead processes.

    While the guard is active ``TMPDIR`` (and :data:`tempfile.tempdir`) name the private
    folder ``bcba-run-<pid>-…`` (0700), so the temporary files of the run and of every
    process it starts (kernel connection file and sockets, Chromium profile, progress file)
    are in one place, removed when the run ends or by the guard. The guard imports no bcba
    module until a run dies; without one (no processes allowed) the run goes on unguarded.
    """

    def __init__(self) -> None:
        remove_stale_folders(RUN_PREFIX)
        remove_stale_handover()
        self.temp = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-"))
        self.mark = self.temp.name
        env = {k: v for k, v in os.environ.items() if k != RUN_ENV}
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-m", "bcba.worker", "--bewaak"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # Ctrl-C in the terminal reaches the run, not the guard
            )
        except OSError as exc:
            log.warning("bewaker van de run niet gestart (%s)", exc)
            self._proc = None
        self._send({"stop": self.mark})
        self._send({"verwijder": str(self.temp)})
        self._saved = (os.environ.get("TMPDIR"), os.environ.get(RUN_ENV), tempfile.tempdir)
        os.environ["TMPDIR"] = str(self.temp)
        os.environ[RUN_ENV] = self.mark
        tempfile.tempdir = str(self.temp)

    def on_death(self, module: str, function: str, /, **kwargs) -> None:
        """Have the guard call ``module.function(**kwargs)`` if the run is killed
        (``kwargs`` must be JSON; the call happens in the guard's own process)."""
        self._send({"roep": [module, function, kwargs]})

    def close(self) -> None:
        """The run ended (well or with an error it handled): release the guard, restore
        ``TMPDIR`` and remove the temporary folder."""
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.write(b"klaar\n")
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None
        tmpdir, mark, tempdir = self._saved
        for name, value in (("TMPDIR", tmpdir), (RUN_ENV, mark)):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        tempfile.tempdir = tempdir
        shutil.rmtree(self.temp, ignore_errors=True)

    def _send(self, message: dict) -> None:
        if self._proc is None:
            return
        try:
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
        except OSError as exc:  # the guard died: the run goes on, unguarded
            log.warning("bewaker van de run niet bereikbaar (%s)", exc)
            self._proc = None


@contextlib.contextmanager
def guarded() -> Iterator[RunGuard]:
    """A :class:`RunGuard` for the code inside; nested uses share the outer guard."""
    global _active
    if _active is not None:
        yield _active
        return
    guard = _active = RunGuard()
    try:
        yield guard
    finally:
        _active = None
        guard.close()


def run_processes(mark: str) -> dict[int, str]:
    """Live processes whose environment carries ``RUN_ENV=mark``: pid -> command line
    (Linux ``/proc``; empty elsewhere)."""
    wanted = f"{RUN_ENV}={mark}".encode()
    found: dict[int, str] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if wanted not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            found[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def stop_run_processes(mark: str, *, grace: float = 5.0) -> None:
    """Kill the processes of a run at once, but give the resource tracker ``grace`` seconds
    to remove the named semaphores of the dead processes first (it ends by itself)."""
    deadline = time.monotonic() + grace
    quiet = 0
    # done after two empty looks in a row: a process still starting (Chromium forks its
    # helpers) may be missed by one
    while quiet < 2:
        found = run_processes(mark)
        quiet = 0 if found else quiet + 1
        late = time.monotonic() >= deadline
        for pid, command in found.items():
            if late or "resource_tracker" not in command:
                _kill(pid)
        if late and found:
            return
        time.sleep(0.1)


def _remove_tree(path: str, *, tries: int = 10) -> None:
    """Remove a folder that a dying process may still be writing to (a few tries)."""
    for _ in range(tries):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            return
        time.sleep(0.2)


def _guard(lines) -> None:
    """The guard's work: collect the actions until ``klaar`` or the end of the pipe."""
    actions = []
    for raw in lines:
        text = raw.decode("utf-8", errors="replace").strip()
        if text == "klaar":
            return
        with contextlib.suppress(ValueError):
            actions.append(json.loads(text))
    # the run's process is gone without saying it was done: clean up after it
    for action in actions:
        try:
            if "stop" in action:
                stop_run_processes(action["stop"])
            elif "verwijder" in action:
                _remove_tree(action["verwijder"])
            elif "roep" in action:
                module, function, kwargs = action["roep"]
                getattr(importlib.import_module(module), function)(**kwargs)
        except Exception:  # best effort: one failed step must not stop the rest
            continue
    remove_stale_handover()


if __name__ == "__main__" and sys.argv[1:] == ["--bewaak"]:  # pragma: no cover - a process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _guard(sys.stdin.buffer)
