"""Decoding real media files of every common container into the canonical 16 kHz WAV."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from capture.decode import SAMPLE_RATE, decode_to_wav, iter_blocks, read_mono
from meetings.errors import DecodeError

from .conftest import ffmpeg

FORMATS = [
    ("wav", ["-c:a", "pcm_s16le"]),
    ("flac", ["-c:a", "flac"]),
    ("mp3", ["-c:a", "libmp3lame"]),
    ("m4a", ["-c:a", "aac"]),
    ("ogg", ["-c:a", "libvorbis"]),
    ("opus", ["-c:a", "libopus"]),
    ("webm", ["-c:a", "libopus"]),
    ("mp4", ["-c:a", "aac"]),
]


@pytest.fixture(scope="module")
def stereo_source(tmp_path_factory):
    """3 s, 44.1 kHz stereo: a 440 Hz tone on the left, 660 Hz on the right (distinct channels)."""
    path = tmp_path_factory.mktemp("media") / "source.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3",
           "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=44100:duration=3",
           "-filter_complex", "[0:a][1:a]join=inputs=2:channel_layout=stereo", str(path))
    return path


@pytest.mark.parametrize("ext,codec", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_container_decodes_to_16k_keeping_channels(tmp_path, stereo_source, ext, codec):
    src = tmp_path / f"call.{ext}"
    ffmpeg("-i", str(stereo_source), *codec, str(src))
    out = tmp_path / "out.wav"
    info = decode_to_wav(src, out)
    data, sr = sf.read(out, dtype="float32", always_2d=True)
    assert sr == SAMPLE_RATE
    assert data.shape[1] == 2 and info.channels == 2
    assert info.distinct_channels
    assert abs(info.duration - 3.0) < 0.1
    # the left channel is still the 440 Hz tone: its spectrum peaks there
    left = data[SAMPLE_RATE // 2 : SAMPLE_RATE * 2, 0]
    peak_hz = np.argmax(np.abs(np.fft.rfft(left))) * SAMPLE_RATE / len(left)
    assert abs(peak_hz - 440) < 5
    mono = read_mono(out)
    assert mono.ndim == 1 and len(mono) == data.shape[0]


def test_dual_mono_is_not_distinct(tmp_path):
    src = tmp_path / "dual.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=8000:duration=1", "-ac", "2", str(src))
    info = decode_to_wav(src, tmp_path / "o.wav")
    assert info.channels == 2 and not info.distinct_channels


def test_many_channels_are_downmixed_to_stereo(tmp_path):
    src = tmp_path / "six.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=1", "-ac", "6", str(src))
    info = decode_to_wav(src, tmp_path / "o.wav")
    assert info.channels == 2 and info.source_sample_rate == 48000


def test_empty_file_is_a_clear_error(tmp_path):
    src = tmp_path / "empty.wav"
    src.write_bytes(b"")
    with pytest.raises(DecodeError, match="empty"):
        decode_to_wav(src, tmp_path / "o.wav")
    assert not (tmp_path / "o.wav").exists()


def test_text_renamed_wav_is_a_clear_error(tmp_path):
    src = tmp_path / "notes.wav"
    src.write_text("these are my meeting notes, not audio\n" * 20)
    with pytest.raises(DecodeError, match="notes.wav"):
        decode_to_wav(src, tmp_path / "o.wav")
    assert not list(tmp_path.glob("o.wav*"))


def test_video_without_audio_is_a_clear_error(tmp_path):
    src = tmp_path / "silent_video.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x64:d=1", "-an", str(src))
    with pytest.raises(DecodeError, match="no audio"):
        decode_to_wav(src, tmp_path / "o.wav")


def test_truncated_file_keeps_what_decodes(tmp_path, stereo_source):
    full = tmp_path / "full.mp3"
    ffmpeg("-i", str(stereo_source), "-c:a", "libmp3lame", str(full))
    cut = tmp_path / "cut.mp3"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    info = decode_to_wav(cut, tmp_path / "o.wav")
    assert 0.5 < info.duration < 2.5


def test_truncated_header_only_is_an_error(tmp_path, stereo_source):
    full = tmp_path / "full.flac"
    ffmpeg("-i", str(stereo_source), "-c:a", "flac", str(full))
    cut = tmp_path / "cut.flac"
    cut.write_bytes(full.read_bytes()[:40])
    with pytest.raises(DecodeError):
        decode_to_wav(cut, tmp_path / "o.wav")


def test_half_second_file_decodes(tmp_path):
    src = tmp_path / "short.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=22050:duration=0.5", str(src))
    info = decode_to_wav(src, tmp_path / "o.wav")
    assert abs(info.duration - 0.5) < 0.02


def test_digital_silence_is_reported(tmp_path):
    src = tmp_path / "silence.wav"
    sf.write(src, np.zeros(16000 * 2, dtype=np.float32), 16000)
    info = decode_to_wav(src, tmp_path / "o.wav")
    assert "silence" in " ".join(info.warnings)


def test_three_hour_file_streams_in_bounded_memory(tmp_path):
    src = tmp_path / "long.flac"
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.01:sample_rate=8000:duration=10800", "-c:a", "flac", str(src))
    tracemalloc.start()
    total = 0
    largest = 0
    for block in iter_blocks(src):
        total += block.shape[1]
        largest = max(largest, block.shape[1])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert abs(total / SAMPLE_RATE - 10800) < 1.0
    assert largest <= 30 * SAMPLE_RATE
    # 3 h at 16 kHz float32 is 691 MB; streaming keeps a few blocks at most
    assert peak < 64 * 1024 * 1024


def test_missing_file(tmp_path):
    with pytest.raises(DecodeError, match="no such file"):
        decode_to_wav(tmp_path / "nope.wav", tmp_path / "o.wav")
