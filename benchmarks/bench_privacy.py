"""Timing of the privacy hot paths (not a test): folding, masking, leak check, export.

Synthesises, with numpy only, free texts and output files of a large run: 10,000 known
names, 100,000 short partner/survey texts (a few with a name, some accents, some in
decomposed Unicode), a 20 MB CSV, a 10 MB GraphML, a Parquet and a GeoPackage table, and a
national export of 28 municipalities x 10 wijken x 7 themes. Run::

    python benchmarks/bench_privacy.py [--repeat 3] [--seed 0]

Every figure is the best of ``--repeat`` runs, in seconds of CPU time of this process
(``time.process_time``, all threads): on a shared machine wall-clock time mostly measures
the neighbours.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

FIRST = ["Jan", "Piet", "Agnes", "Fatima", "Mohammed", "Eva", "Sören", "Zoë", "Ömer", "Inès"]
LAST = ["de Vries", "Jansen", "Öztürk", "Bakker", "El Amrani", "Müller", "Çelik", "Dubois"]
WORDS = [
    "melding",
    "over",
    "overlast",
    "bij",
    "de",
    "loods",
    "aan",
    "de",
    "haven",
    "met",
    "veel",
    "verkeer",
    "en",
    "een",
    "café",
]


def synthesise(seed: int = 0):
    rng = np.random.default_rng(seed)
    names = [
        f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}{i}" for i in range(10_000)
    ]
    texts = []
    for k in range(100_000):
        words = list(rng.choice(WORDS, 12))
        if k % 50 == 0:  # one text in fifty names a person, half of those decomposed
            name = names[int(rng.integers(len(names)))]
            words.insert(3, unicodedata.normalize("NFD", name) if k % 100 == 0 else name)
        texts.append(" ".join(words))
    return names, texts


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def write_outputs(folder: Path, texts: list[str]) -> None:
    """Clean outputs (no names): what a run's leak check reads."""
    clean = [t for t in texts if not any(c.isupper() for c in t)]
    rows = (clean * 4)[:300_000]
    pd.DataFrame({"id": range(len(rows)), "tekst": rows}).to_csv(folder / "tabel.csv", index=False)
    nodes = "".join(
        f'<node id="K-{i}"><data key="label">Café Zoë {i}</data></node>\n' for i in range(200_000)
    )
    (folder / "netwerk.graphml").write_text(f"<graphml>\n{nodes}</graphml>\n", encoding="utf-8")
    frame = pd.DataFrame({"toelichting": rows[:100_000], "thema": "drugs"})
    frame.to_parquet(folder / "cellen.parquet")
    with sqlite3.connect(folder / "lagen.gpkg") as con:
        frame.to_sql("signalen", con, index=False)
    con.close()


def national_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(28):
        for w in range(10):
            for t in range(7):
                # sparse, skewed counts: many zeros and small cells, as flags per wijk are
                n = int(rng.negative_binomial(1, 0.08)) if rng.random() < 0.7 else 0
                rows.append((f"GM{g:04d}", f"WK{g:04d}{w:02d}", f"thema{t}", n))
    return pd.DataFrame(rows, columns=["gemeentecode", "wijkcode", "thema", "aantal"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from bcba import export, leakcheck, privacy

    names, texts = synthesise(args.seed)
    big = "\n".join(texts)  # ~10 MB, mostly ASCII
    big_nfc = unicodedata.normalize("NFC", big)
    print(f"tekst: {len(big) / 1e6:.1f} M tekens; {len(texts)} teksten; {len(names)} namen")
    print(f"fold_text (NFC+NFD mengsel)  {best(lambda: privacy.fold_text(big), args.repeat):.3f}")
    print(
        f"fold_text (alleen NFC)       {best(lambda: privacy.fold_text(big_nfc), args.repeat):.3f}"
    )
    data = big_nfc.encode("utf-8")
    print(f"fold_utf8 (NFC)              {best(lambda: privacy.fold_utf8(data), args.repeat):.3f}")
    masked = privacy.mask_names(texts, names)
    n_masked = sum(m != t for m, t in zip(masked, texts, strict=True))
    print(
        f"mask_names (100k teksten)    {best(lambda: privacy.mask_names(texts, names), args.repeat):.3f}"
        f"  ({n_masked} teksten gemaskeerd)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_outputs(folder, texts)
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        leakcheck._matcher.cache_clear()
        first = best(lambda: leakcheck.scan_outputs(folder, names), 1)
        again = best(lambda: leakcheck.scan_outputs(folder, names), args.repeat)
        hits = leakcheck.scan_outputs(folder, names)
        print(
            f"lekcontrole ({size:.0f} MB, 4 bestanden)  eerste {first:.3f}, daarna {again:.3f}"
            f"  ({len(hits)} treffers)"
        )

    counts = national_table(args.seed)
    secs = best(lambda: export.export_landelijk(counts), args.repeat)
    out = export.export_landelijk(counts)
    status = out["status"].value_counts().to_dict()
    print(f"export_landelijk 28x10x7      {secs:.3f}  {status}")
    if hasattr(export, "audit"):  # the attacker's intervals of the hidden cells
        wide, _ = export._to_wide(counts, row_keys=None, column_key="thema", value="aantal")
        hidden = (
            (out["status"] != export.PUBLISHED)
            .to_numpy()
            .reshape(wide.shape[0] + 1, wide.shape[1] + 1)
        )
        lower, upper = export.audit(wide.to_numpy(), hidden, threshold=10, rounding_base=5)
        print(f"  smalste interval van een onderdrukte cel: {np.nanmin(upper - lower):.0f}")


if __name__ == "__main__":
    main()
