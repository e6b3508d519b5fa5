"""Speech pipeline: pyannote diarization, Whisper ASR, word→speaker alignment, confidence.

Privacy and CPU defaults are set here, before pyannote or torch are imported by
any submodule: pyannote's usage telemetry and Hugging Face telemetry are off unless
the user explicitly turns them on in the environment.
"""

import os

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
