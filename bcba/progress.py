"""Progress of a long run across processes: which stage bcba is working on now.

The library announces stages with :func:`stage` (Dutch text for the analyst, never personal
data). Nothing happens unless a front end asked for progress: :func:`reporting` creates a
private file and names it in the environment variable :data:`ENV`, which every process of
the run inherits (the papermill kernel, the second process); each appends one JSON line per
stage. The front end reads the new lines with :class:`Follower` and shows them. This module
imports nothing from bcba, so any module (engine, report, pipeline) can use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming the progress file of the current run.
ENV = "BCBA_VOORTGANG"


@dataclass(frozen=True)
class Stage:
    """One announced stage: its Dutch text, the share of the whole run done when it starts
    (0-1, ``None`` when unknown) and when it was announced (``time.time()``)."""

    text: str
    done: float | None
    at: float


def stage(text: str, *, done: float | None = None) -> None:
    """Announce that ``text`` starts (e.g. ``"Netwerken analyseren"``).

    ``done`` is the share of the whole run completed at this point, when the caller can
    say (the CLI then draws a bar); progress never fails a run, so write errors are ignored.
    """
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"tekst": str(text), "deel": done, "tijd": time.time()}, ensure_ascii=False)
    # one short write in append mode: lines of several processes do not interleave
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)


@contextlib.contextmanager
def reporting() -> Iterator[Path]:
    """Ask this process and its children to report stages; yields the progress file.

    The file lives in a fresh owner-only temporary folder that is removed afterwards, and
    :data:`ENV` is restored to what it was.
    """
    folder = Path(tempfile.mkdtemp(prefix="bcba-voortgang-"))
    path = folder / "voortgang.jsonl"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        shutil.rmtree(folder, ignore_errors=True)


class Follower:
    """Reads the stages appended to a progress file since the last call."""

    def __init__(self, path: str | os.PathLike) -> None:
        self._path = Path(path)
        self._offset = 0
        self._partial = b""

    def new_stages(self) -> list[Stage]:
        """The complete lines written since the previous call, as :class:`Stage`."""
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        stages = []
        for raw in lines:
            try:
                item = json.loads(raw)
                stages.append(Stage(str(item["tekst"]), item.get("deel"), float(item["tijd"])))
            except (ValueError, KeyError, TypeError):
                continue  # a foreign or damaged line is not worth failing over
        return stages
