"""Atomic, owner-only output writing."""

import stat

import pandas as pd
import pytest

from bcba.io import atomic_path, ensure_dir, neutralise, read_csv, write_csv, write_text


def test_ensure_dir_makes_every_new_level_owner_only(tmp_path):
    folder = ensure_dir(tmp_path / "a" / "b" / "c")
    for level in (tmp_path / "a", tmp_path / "a" / "b", folder):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700, level


def test_written_files_are_owner_only_and_complete(tmp_path):
    path = write_text(tmp_path / "x" / "rapport.txt", "STRIKT VERTROUWELIJK")
    assert path.read_text() == "STRIKT VERTROUWELIJK"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    csv = write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv")
    assert csv.read_text(encoding="utf-8-sig").splitlines() == ["a", "1", "2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "x"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = write_text(tmp_path / "r.txt", "oud")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("schrijver crasht")
    assert target.read_text() == "oud"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_writer_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "leeg.gpkg"):
        pass
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- CSV convention
FORMULAS = pd.DataFrame(
    {
        "tekst": ['=HYPERLINK("http://x","klik")', "+31 6 1234 5678", "-1", "@SUM(A1:A2)"],
        "meer": ["\tverborgen", "\rregel", "'=al gemarkeerd", "gewoon"],
        "getal": [-1, 2, 3, -4],
        "kommagetal": [-1.5, 0.25, 1234.5, float("nan")],
        "ja": [True, False, True, False],
    }
)


def test_formula_text_is_neutralised_and_numbers_are_not():
    out = neutralise(FORMULAS)
    assert out["tekst"].tolist() == [
        '\'=HYPERLINK("http://x","klik")',
        "'+31 6 1234 5678",
        "'-1",
        "'@SUM(A1:A2)",
    ]
    assert out["meer"].tolist() == ["'\tverborgen", "'\rregel", "''=al gemarkeerd", "gewoon"]
    assert out["getal"].tolist() == [-1, 2, 3, -4]
    assert FORMULAS["tekst"].iloc[0].startswith("=")  # the input is not modified
    mixed = pd.DataFrame({"m": [-1, "-1", None]}, dtype=object)
    assert neutralise(mixed)["m"].tolist() == [-1, "'-1", None]
    assert neutralise(pd.DataFrame({"=kop": [1]})).columns.tolist() == ["'=kop"]


def test_csv_is_in_the_dutch_excel_convention(tmp_path):
    path = write_csv(
        pd.DataFrame({"naam": ["a", "b"], "waarde": [1.5, -2.25], "n": [1, 2]}), tmp_path / "t.csv"
    )
    assert path.read_bytes() == b"\xef\xbb\xbfnaam;waarde;n\r\na;1,5;1\r\nb;-2,25;2\r\n"


def test_formula_table_round_trips_through_csv(tmp_path):
    path = write_csv(FORMULAS, tmp_path / "f.csv")
    raw = path.read_text(encoding="utf-8-sig")
    for line in raw.split("\r\n")[1:]:
        for cell in line.split(";"):
            assert cell.strip('"')[:1] not in ("=", "+", "@", "\t", "\r"), cell
    back = read_csv(path)
    pd.testing.assert_frame_equal(back, FORMULAS, check_dtype=False)
    assert back["getal"].dtype.kind == "i" and back["kommagetal"].dtype.kind == "f"
    assert back["tekst"].iloc[2] == "-1" and back["getal"].iloc[0] == -1


def test_reader_reads_csvs_of_runs_before_the_convention(tmp_path):
    legacy = tmp_path / "scores_buurt.csv"
    legacy.write_text("buurtcode,score_drugs\nBU1,1.5\nBU2,-0.25\n", encoding="utf-8")
    back = read_csv(legacy)
    assert back["score_drugs"].tolist() == [1.5, -0.25]


def test_temporaries_of_a_killed_writer_are_removed_and_live_ones_stay(tmp_path):
    import os
    import subprocess
    import sys

    from bcba.io import remove_stale_temporaries

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f".x.gpkg.{int(dead.stdout)}-abcd1234.gpkg"
    journal = tmp_path / f"{stale.name}-journal"
    live = tmp_path / f".x.gpkg.{os.getpid()}-efgh5678.gpkg"
    other = tmp_path / ".verborgen.txt"
    for path in (stale, journal, live, other):
        path.write_bytes(b"x")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted([stale, journal])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
    with atomic_path(tmp_path / "y.csv") as tmp:
        assert tmp.name.startswith(f".y.csv.{os.getpid()}-")
        tmp.write_text("y")
