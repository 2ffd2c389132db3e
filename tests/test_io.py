"""Atomic, owner-only output writing."""

import stat

import pandas as pd
import pytest

from bcba.io import atomic_path, ensure_dir, write_csv, write_text


def test_ensure_dir_makes_every_new_level_owner_only(tmp_path):
    folder = ensure_dir(tmp_path / "a" / "b" / "c")
    for level in (tmp_path / "a", tmp_path / "a" / "b", folder):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700, level


def test_written_files_are_owner_only_and_complete(tmp_path):
    path = write_text(tmp_path / "x" / "rapport.txt", "STRIKT VERTROUWELIJK")
    assert path.read_text() == "STRIKT VERTROUWELIJK"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    csv = write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv")
    assert csv.read_text().splitlines() == ["a", "1", "2"]
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
