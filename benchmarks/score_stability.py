"""Stability of the buurt scores (a script that prints figures, not a test).

For each municipality, scenario and seed the raw data are generated, read and scored twice:
with the default weights of ``bcba/defaults/themes.yaml`` and with equal weights (every
weighted indicator 1). Printed per theme: how many of the top 5 buurten (by rank; small areas
are not ranked) differ between the two, and when the scores carry rank intervals
(``rang_<thema>_laag/_hoog``) their median width. Run::

    python benchmarks/score_stability.py --gemeente GM0489 --seeds 1 2 3 --werkmap /tmp/stab
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import yaml

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
TEST_KEY = "7465737420736c657574656c20766f6f722064652062636261207465737473" + "00"


def _equal_weights_yaml(folder: Path) -> Path:
    from bcba.themes import load_themes

    themes = load_themes()
    names = sorted({n for t in themes.themas for n, w in themes.weights(t).items() if w > 0})
    data = {
        "standaard_gewichten": dict.fromkeys(names, 1.0),
        "themas": {tid: {"gewichten": dict.fromkeys(names, 1.0)} for tid in themes.themas},
    }
    path = folder / "gelijke_gewichten.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _top(scores_buurt, thema: str, n: int = 5) -> list[str]:
    col = f"rang_{thema}"
    frame = scores_buurt[scores_buurt[col].notna()].sort_values([col, "buurtcode"])
    return frame["buurtcode"].head(n).tolist()


def measure(gemeente: str, scenario: str, seed: int, work: Path) -> dict:
    from bcba import synthetic
    from bcba.indicators import compute_indicators
    from bcba.sources import load_inputs
    from bcba.themes import load_themes

    raw = work / f"{gemeente}_{scenario}_{seed}"
    if not (raw / "planted.json").exists():
        synthetic.generate(gemeente, raw, seed=seed, periode=PERIODE, scenario=scenario)
    inputs = load_inputs(gemeente, data_dir=raw, periode=PERIODE, key=bytes.fromhex(TEST_KEY))
    t0 = time.perf_counter()
    default = compute_indicators(inputs, themes=load_themes())
    seconds = time.perf_counter() - t0
    equal = compute_indicators(inputs, themes=load_themes(_equal_weights_yaml(work)))
    out = {"seconden": round(seconds, 2)}
    for thema in [*default.themes.themas, "totaal"]:
        a, b = _top(default.scores_buurt, thema), _top(equal.scores_buurt, thema)
        out[thema] = len(set(a) - set(b))
        lo, hi = f"rang_{thema}_laag", f"rang_{thema}_hoog"
        if lo in default.scores_buurt:
            sb = default.scores_buurt.dropna(subset=[lo, hi])
            out[f"{thema}_breedte"] = float((sb[hi] - sb[lo]).median())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gemeente", default="GM0489")
    parser.add_argument("--scenario", nargs="+", default=["standaard", "nul"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--werkmap", type=Path, default=None)
    args = parser.parse_args()
    work = args.werkmap or Path(tempfile.mkdtemp(prefix="bcba_stab_"))
    work.mkdir(parents=True, exist_ok=True)
    for scenario in args.scenario:
        rows = [measure(args.gemeente, scenario, s, work) for s in args.seeds]
        themes = [k for k in rows[0] if k != "seconden" and not k.endswith("_breedte")]
        print(f"{args.gemeente} {scenario} seeds {args.seeds}")
        print("  top-5 changed (default vs equal weights) per seed:")
        for thema in themes:
            values = [r[thema] for r in rows]
            line = f"    {thema:20s} {values}  max {max(values)}"
            if f"{thema}_breedte" in rows[0]:
                widths = [r[f"{thema}_breedte"] for r in rows]
                line += f"  median interval width {statistics.median(widths):.1f}"
            print(line)
        per_seed_max = [max(r[t] for t in themes) for r in rows]
        print(f"  worst theme per seed: {per_seed_max}")
        print(f"  compute_indicators seconds: {[r['seconden'] for r in rows]}")


if __name__ == "__main__":
    main()
