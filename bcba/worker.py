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
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["Held", "SecondProcess", "Task", "remove_stale_folders", "remove_stale_handover"]

HANDOVER_PREFIX = "bcba-overdracht-"
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_folders(prefix: str) -> list[Path]:
    """Remove the private temporary folders ``<prefix><pid>-…`` whose owning process is
    gone (a killed run), in ``/dev/shm`` and the temporary folder; return them."""
    removed = []
    for base in _handover_bases():
        for folder in base.glob(f"{prefix}*"):
            pid_text = folder.name[len(prefix) :].split("-", 1)[0]
            if not pid_text.isdigit() or _alive(int(pid_text)):
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

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            # the worker frees its gigabytes on the way out (about a second for a city);
            # nothing is left for it to do, so that need not hold up this process
            self._pool.shutdown(wait=False, cancel_futures=True)
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
