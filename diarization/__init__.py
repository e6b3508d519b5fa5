"""Speech pipeline: pyannote diarization, Whisper ASR, word→speaker alignment, confidence.

Privacy and CPU defaults are set here, before pyannote or torch are imported by
any submodule: pyannote's usage telemetry and Hugging Face telemetry are off unless
the user explicitly turns them on in the environment.
"""

import os

import meetings.telemetry  # noqa: E402,F401  every dependency's telemetry off (one list, meetings/telemetry.py)

# No OMP_WAIT_POLICY here: PASSIVE (the old default) made torch's threads sleep at every layer,
# and diarization took 2.2 times as long; torch now runs one thread per forward pass (diarization/cpu.py).
