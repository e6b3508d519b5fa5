"""The quiet-far-end benchmark's summary (bench.quiet_calls.summarise): pure, no models."""

from __future__ import annotations

import pytest

from bench.quiet_calls import render, summarise


def _row(level, speakers, error, warnings=()):
    return {"level": level, "speakers": speakers, "ref_speakers": 2, "warnings": list(warnings),
            "der": {"total": 100.0, "missed": error, "false_alarm": 0.0, "confusion": 0.0}}


def test_each_level_counts_right_counts_der_and_warned_merges():
    rows = [_row(-10.0, 2, 5.0), _row(-10.0, 2, 12.0), _row(-20.0, 1, 40.0, ["only one speaker"]), _row(-20.0, 1, 30.0),
            _row(-20.0, 3, 10.0)]
    s = summarise(rows)
    assert set(s) == {"-10.0", "-20.0"}
    assert s["-10.0"]["calls"] == 2 and s["-10.0"]["right_count"] == 2
    assert s["-10.0"]["der_ok"] == 2  # 12 % is within the figure
    assert s["-10.0"]["pooled_der"] == pytest.approx(0.085)
    assert s["-10.0"]["merged"] == 0
    low = s["-20.0"]
    assert low["right_count"] == 0 and low["der_ok"] == 1  # a third speaker is a wrong count, not a merge
    assert (low["merged"], low["merged_warned"]) == (2, 1)
    assert low["pooled_der"] == pytest.approx(80.0 / 300.0)


def test_the_report_has_a_line_per_draw_and_level():
    s = summarise([_row(-10.0, 2, 5.0), _row(-15.0, 1, 50.0, ["w"])])
    md = render({"date": "2026-12-04 19:00", "summary": {"tune": s, "held-out": s}})
    lines = [l for l in md.splitlines() if l.startswith("| tune") or l.startswith("| held-out")]
    assert len(lines) == 4
    assert "| tune | -15 dB | 1 | 0 | 0 | 50.0 % | 1 (1) |" in md
