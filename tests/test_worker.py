"""Tests of bcba.worker: the second process of a run, its fallbacks, and equal results."""

from __future__ import annotations

import dataclasses
import math
import os
import re

import pandas as pd
import pytest

from bcba.worker import SecondProcess
from tests.conftest import PERIODE


def die_outside(parent_pid: int) -> str:
    """Kill the process it runs in, unless that is the test process itself."""
    if os.getpid() != parent_pid:
        os._exit(3)
    return "hier"


def test_second_process_runs_work_and_falls_back_when_off():
    with SecondProcess() as worker:
        future = worker.submit(math.factorial, 10)
        assert future is not None
        assert worker.result(future, math.factorial, 10) == 3_628_800
    with SecondProcess(enabled=False) as worker:
        assert worker.submit(math.factorial, 5) is None
        assert worker.result(None, math.factorial, 5) == 120


def test_work_and_results_are_handed_over_through_a_private_folder_left_empty():
    with SecondProcess() as worker:
        future = worker.submit(sorted, ["b", "a"], reverse=True)
        folder = worker._folder
        assert folder is not None and folder.stat().st_mode & 0o777 == 0o700
        assert worker.result(future, sorted, ["b", "a"], reverse=True) == ["b", "a"]
        assert list(folder.iterdir()) == []  # read once, then removed
    assert not folder.exists()


def test_second_process_off_by_environment(monkeypatch):
    monkeypatch.setenv("BCBA_TWEEDE_PROCES", "0")
    with SecondProcess() as worker:
        assert worker.submit(math.factorial, 5) is None


def test_dead_second_process_repeats_the_work_here():
    with SecondProcess() as worker:
        future = worker.submit(die_outside, os.getpid())
        assert worker.result(future, die_outside, os.getpid()) == "hier"


def test_errors_of_the_work_itself_are_raised_as_they_are():
    with SecondProcess() as worker:
        future = worker.submit(math.factorial, -1)
        with pytest.raises(ValueError, match="negative"):
            worker.result(future, math.factorial, -1)


@pytest.fixture(scope="module")
def runs(generate_raw, tmp_path_factory):
    """The same small run with and without the second process."""
    from bcba.analysis import Bcba
    from bcba.pipeline import make_run_config

    raw = generate_raw("GM0489", 5, scale=0.2)
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for second in (True, False):
        cfg = make_run_config(
            gemeente="GM0489", data_dir=raw, output_dir=root / str(second), periode=PERIODE
        )
        out[second] = Bcba.run(cfg, second_process=second)
    return out


@pytest.mark.slow
def test_run_gives_the_same_results_with_and_without_second_process(runs):
    par, seq = runs[True], runs[False]
    assert set(par.spatial) == set(seq.spatial)
    for thema, result in par.spatial.items():
        other = seq.spatial[thema]
        assert result.n_events == other.n_events
        for name in ("hotspots_buurt", "hotspots_cel", "factoren", "validatie"):
            left, right = getattr(result, name), getattr(other, name)
            assert (left is None) == (right is None), (thema, name)
            if left is not None:
                pd.testing.assert_frame_equal(
                    pd.DataFrame(left), pd.DataFrame(right), obj=f"{thema}.{name}"
                )
    assert {k: v.name for k, v in par.written.items()} == {
        k: v.name for k, v in seq.written.items()
    }
    for key, path in par.written.items():
        assert path.exists(), key


@pytest.mark.slow
def test_report_map_of_many_risk_locations_shows_the_most_flagged(runs, monkeypatch):
    import bcba.analysis

    run = runs[False]
    n = int(run.indicators.risicolocaties.geometry.notna().sum())
    assert n > 20
    monkeypatch.setattr(bcba.analysis, "MAX_REPORT_LOCATIONS", 10)
    section = run.risicolocaties().data
    assert "Interactief getoond: de 10 adressen met de meeste soorten vlaggen" in section
    full = (run.out / "kaarten" / "risicolocaties_alle.html").read_text(encoding="utf-8")
    shown = (run.out / "kaarten" / "risicolocaties.html").read_text(encoding="utf-8")
    # one GeoJSON feature per address (plus the same basemap features in both pages)
    assert full.count('"type": "Feature"') - shown.count('"type": "Feature"') == n - 10


def _without_map_ids(page: str) -> str:
    """A section's HTML without folium's random element ids."""
    return re.sub(r"_[0-9a-f]{32}", "_id", page)


@pytest.mark.slow
def test_sections_prepared_ahead_are_what_the_notebook_would_get(runs):
    run = runs[False]
    # the second process's part (no networks needed) was rendered during the run
    second = run._sections_in_second_process()
    assert sorted(run._prepared) == sorted(second)
    assert [c for c in second if c[0] == "themabeeld"] == [
        ("themabeeld", t) for t in run.themes.themas
    ]
    second_part = dict(run._prepared)
    # without spatial results: what is prepared while the second process works needs none
    ahead = dataclasses.replace(run, spatial=None, _prepared={}, _figures=[])
    waiting = ahead._sections_while_waiting()
    ahead._prepare_sections(waiting, until=lambda: False)
    assert sorted(ahead._prepared) == sorted(waiting) == [("netwerken",), ("risicolocaties",)]
    assert ahead._figures == []  # kept with their section until the notebook asks for it
    # without networks: what the second process renders needs none
    apart = dataclasses.replace(run, networks=None, _prepared={}, _figures=[])
    apart._prepare_sections(second, until=lambda: False)
    assert sorted(apart._prepared) == sorted(second)
    ahead.spatial = run.spatial
    ahead._prepared.update(second_part)
    fresh = dataclasses.replace(run, _prepared={}, _figures=[])
    notebook_order = [*second[:-2], *waiting, *second[-2:]]  # overview, themes, ..., maps
    for name, *args in notebook_order:
        shown, direct = getattr(ahead, name)(*args).data, getattr(fresh, name)(*args).data
        assert _without_map_ids(shown) == _without_map_ids(direct), name
    assert ahead._prepared == {}
    assert [title for _, title in ahead._figures] == [title for _, title in fresh._figures]
    assert [png for png, _ in ahead._figures] == [png for png, _ in fresh._figures]
    nothing = dataclasses.replace(run, _prepared={}, _figures=[])
    nothing._prepare_sections(waiting, until=lambda: True)  # the second process came first
    assert nothing._prepared == {}


@pytest.mark.slow
def test_report_files_are_checked_where_written_and_again_when_rewritten(runs, tmp_path):
    from bcba.errors import PrivacyError
    from bcba.maps.palette import MARKING

    run = runs[False]
    assert (run.out / "netwerken" / "netwerken.graphml").resolve() in run._checked
    here = dataclasses.replace(
        run,
        cfg=run.cfg.model_copy(update={"output_dir": tmp_path}),
        _checked=set(),
        _unchecked_maps=[],
    )
    person = sorted(run.inputs._names)[0]
    clean = here._save_map(f"<html><p>{MARKING}</p></html>", "schoon")
    here._prepare_sections([], until=lambda: False)  # checks the maps written so far
    assert here._checked == {clean.resolve()} and here._unchecked_maps == []
    here._save_map(f"<html><p>{MARKING}</p><p>{person}</p></html>", "schoon")  # rewritten
    assert here._checked == set()
    with pytest.raises(PrivacyError, match="vermelding"):
        here.afronden()  # what run() has not checked, afronden does
    with pytest.raises(PrivacyError, match="vermelding"):
        here._prepare_sections([], until=lambda: False)
