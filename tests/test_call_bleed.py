"""The louder-bleed benchmark's rebuilt calls (bench.call_bleed.with_bleed): pure, no models."""

from __future__ import annotations

import numpy as np
import pytest

from bench.call_bleed import render, with_bleed


def _gain(y, s):
    return float(np.dot(y, s) / np.dot(s, s))


def test_the_bleed_moves_to_the_asked_level_and_each_party_stays_on_its_line():
    sr, n = 8000, int(0.012 * 8000)
    rng = np.random.default_rng(0)
    a, b = 0.1 * rng.standard_normal(sr * 2), 0.1 * rng.standard_normal(sr * 2)

    def late(y):
        return np.r_[np.zeros(n), y[:-n]]

    g0 = 10 ** (-28 / 20)
    built = np.stack([a + g0 * late(b), b + g0 * late(a)], axis=1).astype(np.float32)
    out = with_bleed(built, -10.0)
    assert out.shape == built.shape and out.dtype == np.float32 and np.abs(out).max() <= 0.9 + 1e-6
    scale = _gain(out[:, 0], a)  # the peak normalisation, the same on both lines
    assert _gain(out[:, 1], b) == pytest.approx(scale, rel=1e-2)
    assert 20 * np.log10(_gain(out[:, 0], late(b)) / scale) == pytest.approx(-10.0, abs=0.2)
    assert 20 * np.log10(_gain(out[:, 1], late(a)) / scale) == pytest.approx(-10.0, abs=0.2)
    assert abs(_gain(out[:, 0], b)) < 0.01 * scale  # no bleed left without its lag


def test_the_report_has_a_line_per_draw_and_level():
    s = {"-28.0": {"calls": 2, "channels": 2, "right_count": 2, "der_ok": 2, "pooled_der": 0.05, "confusion": 0.0},
         "-10.0": {"calls": 2, "channels": 1, "right_count": 1, "der_ok": 1, "pooled_der": 0.3, "confusion": 0.02}}
    md = render({"date": "2026-12-04 19:50", "summary": {"tune": s, "held-out": s}})
    assert "| held-out | -10 dB | 2 | 1 | 1 | 1 | 30.0 % | 2.0 % |" in md
    assert len([l for l in md.splitlines() if l.startswith("| tune")]) == 2
