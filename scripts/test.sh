#!/usr/bin/env bash
# Run Parley's whole test suite (real models, real SQLite, real Qt widgets offscreen).
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
# Tests share 2 CPUs with real-time audio: OpenMP threads sleep instead of spinning (the app
# leaves OpenMP's default; torch runs one thread per forward pass there, diarization/cpu.py).
export OMP_WAIT_POLICY=PASSIVE
export PYANNOTE_METRICS_ENABLED=false
export HF_HUB_OFFLINE=1
# Tests never touch the user's own database.
export PARLEY_DATA_DIR="${PARLEY_TEST_DATA_DIR:-$(mktemp -d)}"
exec .venv/bin/python -m pytest "$@"
