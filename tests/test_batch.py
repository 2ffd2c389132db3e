"""Batch runs: parallel municipalities, one broken input does not stop the others."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from bcba import batch
from bcba.errors import ConfigError
from bcba.io import read_csv
from bcba.runs import mark_complete

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
GEMEENTEN = ["GM0489", "GM0597", "GM0613", "GM0542", "GM0556"]
BROKEN = "GM0542"


def _break_bag(folder: Path) -> None:
    """Remove the required postcode column from the BAG extract."""
    path = folder / "bag_adressen.csv"
    bag = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    bag.drop(columns=["postcode"]).to_csv(path, sep=";", index=False)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    from bcba import synthetic

    root = tmp_path_factory.mktemp("raw")
    for code in GEMEENTEN:
        synthetic.generate(code, root / code, seed=5, periode=PERIODE, scale=0.1)
    _break_bag(root / BROKEN)
    return root


def loading_runner(gemeente, data_dir, output_dir, periode, pdf) -> Path:
    """A light runner: the real input validation, then a stand-in report file."""
    from bcba import keys
    from bcba.sources import load_inputs

    inputs = load_inputs(gemeente, data_dir=data_dir, periode=periode, key=keys.load_key())
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"bcba_{gemeente}.html"
    target.write_text(f"<p>{len(inputs.bag)} adressen</p>", encoding="utf-8")
    return target


def env_runner(gemeente, data_dir, output_dir, periode, pdf) -> Path:
    """Writes whether runs in this worker may start a second process."""
    import os

    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"bcba_{gemeente}.html"
    target.write_text(os.environ.get("BCBA_TWEEDE_PROCES", "aan"), encoding="utf-8")
    return target


def crashing_runner(gemeente, data_dir, output_dir, periode, pdf) -> Path:
    raise KeyError("kolom_x")


def test_batch_continues_past_a_broken_municipality(data_root, tmp_path):
    summary = batch.run_batch(
        gemeenten=[*GEMEENTEN, "Schiedam", "GM0489"],  # Schiedam has no data; a duplicate
        workers=2,
        periode=PERIODE,
        pdf=False,
        data_root=data_root,
        output_root=tmp_path / "reports",
        runner=loading_runner,
        today=dt.date(2026, 1, 5),
    )
    assert list(summary.columns) == batch.SUMMARY_COLUMNS
    assert summary["gemeente"].tolist() == [*GEMEENTEN, "GM0606"]
    status = summary.set_index("gemeente")["status"]
    assert status[BROKEN] == "fout"
    assert status["GM0606"] == "overgeslagen"
    assert (status.drop([BROKEN, "GM0606"]) == "klaar").all()
    broken = summary.set_index("gemeente").loc[BROKEN]
    assert "bag_adressen.csv" in broken["reden"] and "'postcode'" in broken["reden"]
    assert "verplichte kolom ontbreekt" in broken["reden"]
    done = summary[summary["status"] == "klaar"]
    for path in done["rapport"]:
        assert Path(path).is_file()
    assert Path(done["rapport"].iloc[0]).parent == (
        tmp_path / "reports" / "GM0489_Barendrecht" / "2026-01-05"
    )
    assert summary.set_index("gemeente").loc["GM0606", "naam"] == "Schiedam"


def test_batch_regio_selects_municipalities_with_data(data_root):
    chosen = batch.select_gemeenten(None, regio=True, data_root=data_root)
    assert [code for code, _ in chosen] == sorted(GEMEENTEN)


@pytest.mark.parametrize(("workers", "expected"), [(2, "0"), (1, "aan")])
def test_parallel_batch_runs_without_second_process(workers, expected, tmp_path, monkeypatch):
    monkeypatch.delenv("BCBA_TWEEDE_PROCES", raising=False)
    for code in ("GM0489", "GM0597"):
        folder = tmp_path / "raw" / code
        folder.mkdir(parents=True)
        (folder / "bag_adressen.csv").write_text("x\n", encoding="utf-8")
    summary = batch.run_batch(
        gemeenten=["GM0489", "GM0597"],
        workers=workers,
        data_root=tmp_path / "raw",
        output_root=tmp_path / "reports",
        runner=env_runner,
    )
    assert summary["status"].tolist() == ["klaar", "klaar"]
    assert {Path(p).read_text(encoding="utf-8") for p in summary["rapport"]} == {expected}


def test_unexpected_error_is_reported_as_internal(tmp_path):
    folder = tmp_path / "raw" / "GM0489"
    folder.mkdir(parents=True)
    (folder / "bag_adressen.csv").write_text("x\n", encoding="utf-8")
    summary = batch.run_batch(
        gemeenten=["GM0489"],
        workers=1,
        data_root=tmp_path / "raw",
        output_root=tmp_path / "reports",
        runner=crashing_runner,
    )
    assert summary.loc[0, "status"] == "fout"
    assert summary.loc[0, "reden"] == "interne fout: KeyError: 'kolom_x'"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gemeenten": None}, "Geen gemeenten opgegeven"),
        ({"gemeenten": ["GM0489"], "regio": True}, "niet allebei"),
        ({"gemeenten": ["GM0489"], "workers": 0}, "workers moet"),
    ],
)
def test_argument_errors_are_dutch(kwargs, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        batch.run_batch(data_root=tmp_path, **kwargs)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels/rtm overflow on tiny data
@pytest.mark.parametrize("scheduler", [None, "lokaal"])
def test_real_batch_with_reports(data_root, tmp_path, monkeypatch, scheduler):
    """The real runner (papermill + HTML) for one good and one broken municipality, in the
    process pool and on a local dask cluster."""
    from bcba import config

    home = tmp_path / "home"
    home.mkdir()
    for name in ("notebooks", "templates"):
        (home / name).symlink_to(config.PACKAGE_DIR.parent / name)
    monkeypatch.setenv("BCBA_HOME", str(home))  # processed data and audit stay in tmp
    summary = batch.run_batch(
        gemeenten=["GM0489", BROKEN],
        workers=2,
        scheduler=scheduler,
        periode=PERIODE,
        pdf=False,
        data_root=data_root,
        output_root=tmp_path / "reports",
    )
    status = summary.set_index("gemeente")["status"].to_dict()
    assert status == {"GM0489": "klaar", BROKEN: "fout"}, summary.to_dict("records")
    html = Path(summary.loc[0, "rapport"])
    assert html.is_file() and html.suffix == ".html"
    assert "'postcode'" in summary.loc[1, "reden"]


# --------------------------------------------------------------------------- dask
def flags_runner(gemeente, data_dir, output_dir, periode, pdf) -> Path:
    """The real input validation, then a stand-in report and a small ``vlaggen.csv``."""
    loading_runner(gemeente, data_dir, output_dir, periode, pdf)
    wijk = f"WK{gemeente[2:]}00"
    pd.DataFrame(
        {"wijkcode": [wijk] * 12, "themas": ["drugs"] * 12, "flag_id": ["KVK_WOONADRES"] * 12}
    ).to_csv(output_dir / "vlaggen.csv", index=False)
    mark_complete(output_dir)  # as a finished run leaves its folder
    return output_dir / f"bcba_{gemeente}.html"


def _comparable(summary: pd.DataFrame, root: Path) -> list[dict]:
    rows = summary.drop(columns="duur_s").to_dict("records")
    for row in rows:
        row["rapport"] = Path(row["rapport"]).relative_to(root).as_posix() if row["rapport"] else ""
    return rows


def test_dask_cluster_gives_the_same_results_as_the_pool(data_root, tmp_path):
    common = {
        "gemeenten": ["GM0489", BROKEN, "GM0597"],
        "periode": PERIODE,
        "pdf": False,
        "data_root": data_root,
        "runner": loading_runner,
        "today": dt.date(2026, 1, 5),
    }
    pool = batch.run_batch(workers=2, output_root=tmp_path / "pool", **common)
    dask = batch.run_batch(workers=2, scheduler="lokaal", output_root=tmp_path / "dask", **common)
    assert pool["status"].tolist() == ["klaar", "fout", "klaar"]
    assert _comparable(dask, tmp_path / "dask") == _comparable(pool, tmp_path / "pool")
    assert "'postcode'" in dask.loc[1, "reden"]


def test_national_export_uses_only_the_batch_complete_runs(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("BCBA_HOME", str(tmp_path / "home"))
    from bcba import config

    # an older complete-looking run of the municipality that now fails must not count
    stale = config.reports_dir() / "GM0542_Hendrik-Ido-Ambacht" / "2025-01-01"
    flags_runner(BROKEN, data_root / "GM0489", stale, PERIODE, False)
    out = tmp_path / "landelijk.csv"
    seen = []
    summary = batch.run_batch(
        gemeenten=["GM0489", BROKEN, "GM0597"],
        workers=2,
        periode=PERIODE,
        pdf=False,
        landelijk=out,
        drempel=10,
        data_root=data_root,
        runner=flags_runner,
        today=dt.date(2026, 1, 5),
        on_progress=lambda text, done, total: seen.append((done, total)),
    )
    assert summary["gemeente"].tolist() == ["GM0489", BROKEN, "GM0597", "LANDELIJK"]
    assert summary.set_index("gemeente").loc["LANDELIJK", "status"] == "klaar"
    assert seen == [(1, 3), (2, 3), (3, 3)]
    export = read_csv(out, dtype=str)
    codes = set(export["gemeentecode"].dropna()) - {"totaal"}
    assert codes == {"GM0489", "GM0597"}, export


def test_national_export_needs_the_reports_folder(tmp_path):
    with pytest.raises(ConfigError, match="landelijke export leest"):
        batch.run_batch(
            gemeenten=["GM0489"],
            landelijk=tmp_path / "x.csv",
            data_root=tmp_path,
            output_root=tmp_path / "elders",
        )


def test_unreachable_scheduler_is_a_dutch_error(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "SCHEDULER_TIMEOUT_S", 1)
    folder = tmp_path / "raw" / "GM0489"
    folder.mkdir(parents=True)
    (folder / "bag_adressen.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="Kan de dask-scheduler op 'tcp://127.0.0.1:9' niet"):
        batch.run_batch(
            gemeenten=["GM0489"],
            scheduler="tcp://127.0.0.1:9",
            data_root=tmp_path / "raw",
            output_root=tmp_path / "reports",
            runner=env_runner,
        )


class _NotebookError(Exception):
    """Stands in for papermill's PapermillExecutionError (``ename``, ``evalue``)."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__("")
        self.ename, self.evalue = ename, evalue


def notebook_bcba_error_runner(gemeente, data_dir, output_dir, periode, pdf) -> Path:
    raise _NotebookError("MissingInputError", "Invoermap X bestaat niet.")


def notebook_other_error_runner(gemeente, data_dir, output_dir, periode, pdf) -> Path:
    raise _NotebookError("ValueError", "kapot")


@pytest.mark.parametrize(
    ("runner", "reason"),
    [
        (notebook_bcba_error_runner, "Invoermap X bestaat niet."),
        (notebook_other_error_runner, "interne fout in het rapport: ValueError: kapot"),
    ],
)
def test_error_inside_the_notebook_is_named(tmp_path, runner, reason):
    folder = tmp_path / "raw" / "GM0489"
    folder.mkdir(parents=True)
    (folder / "bag_adressen.csv").write_text("x\n", encoding="utf-8")
    summary = batch.run_batch(
        gemeenten=["GM0489"],
        workers=1,
        data_root=tmp_path / "raw",
        output_root=tmp_path / "reports",
        runner=runner,
    )
    assert summary.loc[0, "status"] == "fout" and summary.loc[0, "reden"] == reason


def test_regional_overview_gets_only_the_batch_complete_runs(data_root, tmp_path, monkeypatch):
    from bcba import regional

    seen = {}

    def fake_regional(*, results_root, folders):
        seen.update(folders)
        return tmp_path / "regio.html"

    monkeypatch.setattr(regional, "run_regional_report", fake_regional)
    summary = batch.run_batch(
        gemeenten=["GM0489", BROKEN],
        workers=2,
        periode=PERIODE,
        pdf=False,
        regio_rapport=True,
        data_root=data_root,
        output_root=tmp_path / "reports",
        runner=loading_runner,
        today=dt.date(2026, 1, 5),
    )
    assert summary["gemeente"].tolist() == ["GM0489", BROKEN, "REGIO"]
    assert summary.loc[2, "status"] == "klaar"
    assert seen == {"GM0489": tmp_path / "reports" / "GM0489_Barendrecht" / "2026-01-05"}
