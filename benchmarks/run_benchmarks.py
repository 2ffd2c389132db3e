"""Scale benchmarks of the B-CBA pipeline (a script that prints figures, not a test).

Sizes:

- ``barendrecht``: GM0489 generated at scale 1;
- ``rotterdam``: GM0599 generated at scale 1;
- ``nationaal``: the indicator stage over about 10 million addresses / 2.5 million
  establishments, built by replicating the loaded Rotterdam inputs as municipality
  partitions and run on dask (``LocalCluster(n_workers=2)`` or ``--scheduler ADDRESS``).
  ``--fractie 0.1`` runs a tenth of the partitions and extrapolates linearly (labelled).

Every stage runs in a fresh Python subprocess that reports its own wall time and peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` plus its children, e.g. the
papermill kernel and Chromium; the largest single process counts), so the stages do not
share memory high-water marks. ``volledige_run`` is the full run an analyst starts (raw
files to HTML and PDF) and is the figure to hold against the target. Stages that need the
previous stage's results read them from a pickle in the work folder; that unpickling is
part of the measured time and memory. Run::

    python benchmarks/run_benchmarks.py --grootte barendrecht rotterdam --werkmap /tmp/bench
    python benchmarks/run_benchmarks.py --grootte nationaal --fractie 0.1 [--scheduler tcp://host:8786]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
SIZES = {"barendrecht": "GM0489", "rotterdam": "GM0599"}
STAGES = (
    "generate",
    "load_inputs",
    "compute_indicators",
    "spatial",
    "networks",
    "vloer",
    "volledige_run",
)
#: what the floor notebook does: import the stack the report uses, nothing else
FLOOR_SOURCE = (
    "import pandas, geopandas, folium, matplotlib.pyplot, sklearn, shapely, pyogrio\n"
    "import bcba, bcba.report.view"
)
NATIONAL_ADDRESSES = 10_000_000
NATIONAL_ESTABLISHMENTS = 2_500_000
TEST_KEY = "7465737420736c657574656c20766f6f722064652062636261207465737473" + "00"


# --------------------------------------------------------------------------- child stages
def _paths(work: Path, code: str) -> dict[str, Path]:
    return {
        "raw": work / "raw" / code,
        "out": work / "reports" / code,
        "inputs": work / f"{code}_inputs.pkl",
        "indicators": work / f"{code}_indicators.pkl",
    }


def _dump(obj, path: Path) -> None:
    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: Path):
    with path.open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 - our own benchmark files


def run_stage(stage: str, code: str, work: Path) -> dict:
    """Run one stage in this process; returns extra figures (sizes)."""
    from bcba import keys, synthetic
    from bcba.pipeline import make_run_config

    p = _paths(work, code)
    extra: dict = {}
    if stage == "generate":
        synthetic.generate(code, p["raw"], seed=1, periode=PERIODE, scale=1.0)
    elif stage == "load_inputs":
        from bcba.sources import load_inputs

        inputs = load_inputs(code, data_dir=p["raw"], periode=PERIODE, key=keys.load_key())
        extra = {"adressen": len(inputs.bag), "vestigingen": len(inputs.kvk_vestigingen)}
        _dump(inputs, p["inputs"])
    elif stage == "compute_indicators":
        from bcba.indicators.run import compute_indicators
        from bcba.themes import load_themes

        indicators = compute_indicators(_load(p["inputs"]), themes=load_themes(None))
        _dump(indicators, p["indicators"])
    elif stage == "spatial":
        from bcba.spatial import analyse_spatial
        from bcba.themes import load_themes

        analyse_spatial(_load(p["inputs"]), _load(p["indicators"]), load_themes(None))
    elif stage == "networks":
        from bcba.network import analyse_networks

        analyse_networks(_load(p["inputs"]), flags=_load(p["indicators"]).flags)
    elif stage == "vloer":
        # the floor: papermill + nbconvert --no-input of a notebook that only imports the
        # stack, so the full run can be read as a ratio on whatever machine runs this
        import nbformat
        import papermill
        from nbconvert import HTMLExporter

        from bcba.pipeline import _kernel_name

        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_SOURCE)])
        source, done = work / "vloer.ipynb", work / "vloer_uit.ipynb"
        nbformat.write(nb, source)
        papermill.execute_notebook(
            str(source), str(done), kernel_name=_kernel_name(), progress_bar=False
        )
        html, _ = HTMLExporter(exclude_input=True).from_filename(str(done))
        (work / "vloer.html").write_text(html, encoding="utf-8")
    elif stage == "volledige_run":
        # what an analyst runs: raw files -> analysis in the notebook -> HTML -> PDF
        import shutil

        from bcba.pipeline import run_report

        shutil.rmtree(p["out"], ignore_errors=True)  # a fresh report folder, as in practice
        cfg = make_run_config(
            gemeente=code, data_dir=p["raw"], output_dir=p["out"], periode=PERIODE
        )
        result = run_report(cfg, pdf=True)
        extra = {
            "html_mb": round(result.html.stat().st_size / 1e6, 1),
            "pdf_mb": round(result.pdf.stat().st_size / 1e6, 1),
            "stappen_s": {k: round(v, 1) for k, v in result.timings.items()},
            "analyse_s": _analysis_timings(p["out"]),
        }
    else:
        raise SystemExit(f"onbekende stap {stage!r}")
    return extra


def _analysis_timings(out: Path) -> dict:
    """Per-part times the report notebook recorded (``looptijden.json``), if any."""
    path = out / "looptijden.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024  # Linux: kilobytes


def child_main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    extra = run_stage(args.stap, args.gemeente, Path(args.werkmap))
    result = {"s": round(time.perf_counter() - started, 1), "piek_mb": round(_peak_mb()), **extra}
    print("RESULT " + json.dumps(result, default=str))


def measure(stage: str, code: str, work: Path) -> dict:
    """Run one stage in a fresh subprocess and return its figures (or the error)."""
    env = {**os.environ, "BCBA_HOME": os.environ.get("BCBA_HOME", str(work / "home"))}
    env.setdefault("BCBA_SLEUTEL", TEST_KEY)
    env.setdefault("BCBA_AUDITLOG", str(work / "audit.jsonl"))
    Path(env["BCBA_HOME"]).mkdir(parents=True, exist_ok=True)
    for name in ("notebooks", "templates"):
        link = Path(env["BCBA_HOME"]) / name
        if not link.exists():
            link.symlink_to(Path(__file__).resolve().parent.parent / name)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--stap", stage, "--gemeente", code, "--werkmap", str(work)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        return {"stap": stage, "wand_s": round(wall, 1), "fout": proc.stderr.strip()[-400:]}
    return {"stap": stage, "wand_s": round(wall, 1), **json.loads(line.removeprefix("RESULT "))}


# --------------------------------------------------------------------------- national (dask)
def _indicator_partition(args: tuple[str, int]) -> dict:
    """One municipality partition: the pickled inputs, shifted to be a distinct municipality."""
    import resource as _resource
    import time as _time

    from bcba.indicators.run import compute_indicators
    from bcba.themes import load_themes

    path, replica = args
    started = _time.perf_counter()
    inputs = _load(Path(path))
    # A distinct replica: other establishment numbers so no entity is shared between partitions.
    kvk = inputs.kvk_vestigingen
    inputs.kvk_vestigingen = kvk.assign(
        kvk_nummer=kvk["kvk_nummer"].str[:-2] + f"{replica % 100:02d}"
    )
    result = compute_indicators(inputs, themes=load_themes(None))
    return {
        "replica": replica,
        "adressen": len(inputs.bag),
        "vestigingen": len(inputs.kvk_vestigingen),
        "vlaggen": len(result.flags),
        "s": _time.perf_counter() - started,
        "piek_mb": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def national(work: Path, *, fractie: float, scheduler: str | None, basis: str = "GM0599") -> dict:
    """The indicator stage over national-size data, partitioned by municipality on dask."""
    from dask.distributed import Client, LocalCluster

    source = _paths(work, basis)["inputs"]
    if not source.exists():
        raise SystemExit(f"Eerst de stap load_inputs voor {basis} draaien ({source} ontbreekt).")
    with source.open("rb") as fh:
        inputs = pickle.load(fh)  # noqa: S301
    per_partition = len(inputs.bag), len(inputs.kvk_vestigingen)
    del inputs
    full = max(
        int(round(NATIONAL_ADDRESSES / per_partition[0])),
        int(round(NATIONAL_ESTABLISHMENTS / per_partition[1])),
    )
    n = max(1, int(round(full * fractie)))
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit="4GB"
        )
        client = Client(cluster)
    started = time.perf_counter()
    futures = client.map(_indicator_partition, [(str(source), i) for i in range(n)], pure=False)
    parts = client.gather(futures)
    wall = time.perf_counter() - started
    workers = len(client.scheduler_info()["workers"])
    client.close()
    if cluster is not None:
        cluster.close()
    peak_worker = max(p["piek_mb"] for p in parts)
    result = {
        "partities_gedraaid": n,
        "partities_volledig": full,
        "adressen_gedraaid": per_partition[0] * n,
        "vestigingen_gedraaid": per_partition[1] * n,
        "workers": workers,
        "wand_s": round(wall, 1),
        "gem_s_per_partitie": round(sum(p["s"] for p in parts) / n, 1),
        "piek_mb_per_worker": round(peak_worker),
        "piek_mb_totaal": round(peak_worker * workers),
    }
    if n < full:  # a fraction was run: say what the whole would take, labelled as such
        result["geextrapoleerd_volledig_s"] = round(wall * full / n, 1)
    return result


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--grootte", nargs="+", default=["barendrecht", "rotterdam"], choices=[*SIZES, "nationaal"]
    )
    parser.add_argument("--stappen", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--werkmap", default="/tmp/bcba_bench")
    parser.add_argument(
        "--fractie", type=float, default=1.0, help="deel van nationaal (extrapolatie)"
    )
    parser.add_argument("--scheduler", default=None, help="adres van een dask-scheduler")
    parser.add_argument(
        "--herhalingen", type=int, default=1, help="elke stap zo vaak (min en mediaan erbij)"
    )
    parser.add_argument("--stap", help=argparse.SUPPRESS)
    parser.add_argument("--gemeente", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stap:
        child_main(args)
        return
    work = Path(args.werkmap)
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"# load at start: {os.getloadavg()} on {os.cpu_count()} cores; "
        f"calibration loop {calibration_s():.2f} s"
    )
    medians: dict[tuple[str, str], float] = {}
    for size in args.grootte:
        if size == "nationaal":
            print(
                json.dumps(
                    {
                        "grootte": size,
                        "fractie": args.fractie,
                        **national(work, fractie=args.fractie, scheduler=args.scheduler),
                    }
                )
            )
            continue
        for stage in args.stappen:
            walls = []
            for _ in range(1 if stage == "generate" else max(1, args.herhalingen)):
                row = {"grootte": size, **measure(stage, SIZES[size], work)}
                print(json.dumps(row, default=str), flush=True)
                walls.append(row["wand_s"])
            if len(walls) > 1:
                summary = {"min": min(walls), "mediaan": statistics.median(walls), "alle": walls}
                print(json.dumps({"grootte": size, "stap": stage, "wand_s": summary}), flush=True)
            medians[(size, stage)] = statistics.median(walls)
        floor, full = medians.get((size, "vloer")), medians.get((size, "volledige_run"))
        if floor and full:
            print(
                json.dumps(
                    {
                        "grootte": size,
                        "volledige_run_mediaan_s": full,
                        "vloer_mediaan_s": floor,
                        "verhouding": round(full / floor, 1),
                        "doel_s": 45,
                        "doel_gb": 3,
                    }
                ),
                flush=True,
            )
    print(f"# load at end: {os.getloadavg()}; calibration loop {calibration_s():.2f} s")


def calibration_s() -> float:
    """Seconds for a fixed pure-Python loop: how fast this shared machine is right now
    (about 1.3 s on the reference machine of docs/performance.md)."""
    started = time.perf_counter()
    sum(i * i for i in range(20_000_000))
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
