"""Benchmark of ``bcba batch`` on a dask cluster (a script that prints figures, not a test).

Generates demo data for the municipalities of the RIEC Rotterdam (``bcba gemeenten``; a
municipality without shipped geography is reported as not generated), then runs the real
batch (papermill report per municipality, HTML; PDF with ``--pdf``) on a two-worker
``LocalCluster`` (or ``--scheduler ADRES``) and prints:

- the wall time of the batch and the seconds per municipality (from the batch summary);
- the peak resident memory per worker, measured as the sum over the worker process and
  all its descendants (the papermill kernel, its second process, Chromium), sampled every
  ``--interval`` seconds from this process with psutil (local cluster only);
- the status per municipality (``klaar``/``fout`` with the reason).

Generated data and the run folders stay in ``--werkmap`` (its own ``BCBA_HOME``, key and
audit log). Run::

    python benchmarks/bench_batch.py --werkmap /tmp/bcba_batch
    python benchmarks/bench_batch.py --gemeenten GM0489 GM0597 GM0613 --schaal 0.3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
BENCH_KEY_HEX = "62656e63686d61726b2073636875696674206e6f6f6974206d6565206e61617220"


def _prepare_environment(work: Path) -> None:
    """Everything the runs write stays in ``work`` (before bcba reads its configuration)."""
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    os.environ["BCBA_HOME"] = str(home)
    os.environ["BCBA_AUDITLOG"] = str(work / "audit.jsonl")
    os.environ.setdefault("BCBA_SLEUTEL", BENCH_KEY_HEX)
    os.environ.setdefault("MPLBACKEND", "Agg")


def generate(codes: list[str], raw: Path, scale: float) -> dict[str, str]:
    """Demo data per municipality (reused when the folder holds the same, unchanged demo);
    returns what could not be generated and why."""
    from bcba import synthetic
    from bcba.errors import BcbaError

    problems = {}
    for code in codes:
        folder = raw / code
        if synthetic.is_demo_output(folder):
            manifest = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
            if manifest.get("scale") == scale:
                continue
        started = time.perf_counter()
        try:
            synthetic.generate(code, folder, seed=1, periode=PERIODE, scale=scale)
        except BcbaError as exc:
            problems[code] = str(exc).splitlines()[0]
            continue
        print(f"# demodata {code}: {time.perf_counter() - started:.1f} s", flush=True)
    return problems


class _PeakMemory:
    """Samples the resident memory of each worker process tree; keeps the peak per worker."""

    def __init__(self, pids: dict[str, int], interval: float) -> None:
        import psutil

        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak_mb = dict.fromkeys(pids, 0.0)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self, proc) -> int:
        import psutil

        total = 0
        try:
            members = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return 0
        for member in members:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for name, proc in self._procs.items():
                mb = self._tree_rss(proc) / 2**20
                self.peak_mb[name] = max(self.peak_mb[name], mb)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--werkmap", default="/tmp/bcba_bench_batch", help="werkmap")
    parser.add_argument("--gemeenten", nargs="+", help="standaard alle RIEC-gemeenten")
    parser.add_argument("--schaal", type=float, default=1.0, help="schaal van de demodata")
    parser.add_argument("--workers", type=int, default=2, help="workers van het lokale cluster")
    parser.add_argument("--scheduler", help="adres van een bestaand dask-cluster")
    parser.add_argument("--pdf", action="store_true", help="ook PDF en kaartenboek")
    parser.add_argument("--interval", type=float, default=0.5, help="meetinterval geheugen (s)")
    args = parser.parse_args(argv)

    work = Path(args.werkmap).resolve()
    _prepare_environment(work)
    from distributed import Client, LocalCluster

    from bcba import batch, config, reference

    codes = args.gemeenten or reference.gemeenten()["gemeentecode"].tolist()
    codes = [reference.resolve_gemeente(c).code if c.startswith("GM") else c for c in codes]
    print(f"# load at start: {os.getloadavg()} on {os.cpu_count()} cores", flush=True)
    started = time.perf_counter()
    not_generated = generate(codes, config.raw_dir(), args.schaal)
    print(f"# demodata klaar in {time.perf_counter() - started:.0f} s", flush=True)

    cluster = None
    if args.scheduler:
        address = args.scheduler
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        address = cluster.scheduler_address
    client = Client(address)
    pids = client.run(os.getpid)  # worker address -> pid
    local = cluster is not None
    try:
        monitor = _PeakMemory(pids, args.interval) if local else None
        started = time.perf_counter()
        if monitor:
            monitor.__enter__()
        summary = batch.run_batch(
            gemeenten=[c for c in codes if c not in not_generated],
            scheduler=address,
            periode=PERIODE,
            pdf=args.pdf,
            today=dt.date(2026, 1, 5),
        )
        wall = time.perf_counter() - started
        if monitor:
            monitor.__exit__(None, None, None)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    for row in summary.to_dict("records"):
        print(
            json.dumps(
                {k: row[k] for k in ("gemeente", "naam", "status", "duur_s")}
                | {"reden": row["reden"].splitlines()[0][:160] if row["reden"] else ""},
                ensure_ascii=False,
            ),
            flush=True,
        )
    for code, reason in not_generated.items():
        print(json.dumps({"gemeente": code, "status": "geen demodata", "reden": reason[:160]}))
    done = summary[summary["status"] == batch.KLAAR]
    result = {
        "gemeenten_gevraagd": len(codes),
        "klaar": len(done),
        "fout": int((summary["status"] == batch.FOUT).sum()),
        "geen_demodata": len(not_generated),
        "schaal": args.schaal,
        "pdf": args.pdf,
        "workers": len(pids),
        "wand_s": round(wall, 1),
        "som_duur_klaar_s": round(float(done["duur_s"].sum()), 1),
        "langste_s": round(float(summary["duur_s"].max()), 1),
    }
    if monitor:
        result["piek_mb_per_worker"] = {
            f"worker{i}": round(mb) for i, mb in enumerate(monitor.peak_mb.values())
        }
    print(json.dumps(result, ensure_ascii=False))
    print(f"# load at end: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
