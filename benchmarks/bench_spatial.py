"""Wall and CPU time of the spatial stage (a script that prints figures, not a test).

Reads the pickled inputs and indicators that ``benchmarks/run_benchmarks.py --stappen generate
load_inputs compute_indicators`` leaves in its work folder and times
:func:`bcba.spatial.analyse_spatial` in this process. CPU time (``time.process_time``) is
printed next to the wall time because on a shared machine the wall time mostly measures the
other users. Run::

    python benchmarks/bench_spatial.py --gemeente GM0489 GM0599 --werkmap /tmp/bcba_bench
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import statistics
import time
import warnings
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gemeente", nargs="+", default=["GM0489", "GM0599"])
    parser.add_argument("--werkmap", default="/tmp/bcba_bench")
    parser.add_argument("--herhalingen", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    from bcba.spatial import analyse_spatial
    from bcba.themes import load_themes

    themes = load_themes(None)
    for code in args.gemeente:
        work = Path(args.werkmap)
        with (work / f"{code}_inputs.pkl").open("rb") as fh:
            inputs = pickle.load(fh)  # noqa: S301 - our own benchmark files
        with (work / f"{code}_indicators.pkl").open("rb") as fh:
            indicators = pickle.load(fh)  # noqa: S301
        walls, cpus = [], []
        for _ in range(args.herhalingen):
            wall, cpu = time.perf_counter(), time.process_time()
            analyse_spatial(inputs, indicators, themes)
            walls.append(round(time.perf_counter() - wall, 1))
            cpus.append(round(time.process_time() - cpu, 1))
        print(
            json.dumps(
                {
                    "gemeente": code,
                    "wand_s": walls,
                    "cpu_s": cpus,
                    "cpu_s_mediaan": statistics.median(cpus),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
