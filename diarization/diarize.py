"""Speaker diarization with pyannote.audio 4, returning :class:`meetings.types.Diarization`.

Two ways in, one pipeline class:
  * ``embedded`` (default, offline): pyannote's ``SpeakerDiarization`` with segmentation-3.0
    and CAM++ embeddings, agglomerative clustering (VBx needs a PLDA that is not on PyPI).
  * a pyannote pipeline name or local config (e.g. ``pyannote/speaker-diarization-community-1``)
    loaded through ``Pipeline.from_pretrained`` with the user's ``HF_TOKEN``.

Besides pyannote's hard output, :class:`ParleyDiarization` keeps the frame-level *soft*
speaker activations (share of overlapping chunks that found each speaker active), which
the aligner and the confidence scores use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import diarization  # noqa: F401  (privacy env defaults before pyannote is imported)
from meetings.errors import Cancelled, ModelUnavailable
from meetings.types import Activations, Diarization, SpeakerSegment

from .bounded import ClusteredChunks
from .models import (
    COMMUNITY_1,
    EMBEDDED_DIARIZATION,
    Device,
    embedded_campplus_path,
    embedded_segmentation_path,
    hf_token,
)

ProgressFn = Callable[[str, int | None, int | None], None]

__all__ = ["DiarizationParams", "Diarizer", "EMBEDDED_PARAMS", "PYANNOTE_DEFAULT_PARAMS"]


@dataclass(frozen=True, slots=True)
class DiarizationParams:
    """Hyper-parameters of the agglomerative pipeline (recorded with every result)."""

    clustering_threshold: float
    min_cluster_size: int = 12
    method: str = "centroid"
    min_duration_off: float = 0.0
    exclude_overlap: bool = False

    def as_pyannote(self) -> dict:
        return {
            "segmentation": {"min_duration_off": self.min_duration_off},
            "clustering": {
                "method": self.method,
                "min_cluster_size": self.min_cluster_size,
                "threshold": self.clustering_threshold,
            },
        }


#: pyannote/speaker-diarization-3.1's published defaults (tuned there for WeSpeaker embeddings).
PYANNOTE_DEFAULT_PARAMS = DiarizationParams(clustering_threshold=0.7045654963945799)
#: Parley's defaults for CAM++ embeddings. Measured on eval/core.lst (DER, collar 0.25):
#: threshold 0.7046 17.4 %, 0.75 18.0 %, 0.8 21.8 %, 0.65 + exclude_overlap 20.7 %,
#: 0.7046 + exclude_overlap 19.2 %: pyannote's published setting is also the best here.
EMBEDDED_PARAMS = PYANNOTE_DEFAULT_PARAMS


def _parley_pipeline_class():
    from pyannote.audio.core.inference import Inference
    from pyannote.audio.pipelines import SpeakerDiarization

    class ParleyDiarization(SpeakerDiarization):
        """pyannote's pipeline, also keeping soft per-speaker activations, rebuilt chunk by chunk (same output)."""

        def apply(self, file, **kwargs):
            self._soft = None
            self._cluster_labels = None
            return super().apply(file, **kwargs)

        def reconstruct(self, segmentations, hard_clusters, count):
            # pyannote's own builds the whole (chunks, frames, clusters) array in float64 first:
            # the same result, chunk by chunk (bounded.ClusteredChunks)
            if getattr(self, "_soft", None) is None:
                self._soft = Inference.aggregate(
                    ClusteredChunks(segmentations, hard_clusters, fill=0.0, skip=(-2, -1)),
                    count.sliding_window,
                    hamming=False,
                    missing=0.0,
                    skip_average=False,
                )
            return self.to_diarization(ClusteredChunks(segmentations, hard_clusters, fill=np.nan), count)

        def get_embeddings(self, file, binary_segmentations, exclude_overlap=False, hook=None):
            if not getattr(self, "_parley_cpu", False):  # GPU: pyannote's own batches
                return super().get_embeddings(file, binary_segmentations, exclude_overlap=exclude_overlap, hook=hook)
            return chunk_embeddings(self, file, binary_segmentations, exclude_overlap, hook)

        def to_annotation(self, *args, **kwargs):
            annotation = super().to_annotation(*args, **kwargs)
            if getattr(self, "_cluster_labels", None) is None:
                self._cluster_labels = sorted(annotation.labels())  # cluster ids, renamed in this order
            return annotation

    return ParleyDiarization


def embedding_masks(segmentation: np.ndarray, exclude_overlap: bool, min_num_frames: int) -> np.ndarray:
    """One chunk's (frames, speakers) binary segmentation → the (speakers, frames) weights its
    speakers are embedded with, as pyannote's ``get_embeddings`` chooses them: with
    ``exclude_overlap``, a speaker's frames without overlap when there are more than
    ``min_num_frames`` of them, else all of its frames."""
    masks = np.nan_to_num(segmentation, nan=0.0).astype(np.float32)
    if not exclude_overlap:
        return np.ascontiguousarray(masks.T)
    clean = masks * (np.sum(masks, axis=1, keepdims=True) < 2)
    return np.stack([c if np.sum(c) > min_num_frames else m for m, c in zip(masks.T, clean.T)])


def chunk_embeddings(pipeline, file, binary_segmentations, exclude_overlap: bool, hook=None) -> np.ndarray:
    """pyannote's ``get_embeddings`` (chunks, speakers, dim), one chunk per forward pass on
    Parley's CPU workers (:mod:`diarization.cpu`): every local speaker of a chunk is one row of
    the chunk's batch, so CAM++ runs its network once per chunk and pools once per speaker.
    Progress (and a cancel, raised by ``hook``) between groups of chunks."""
    import math

    import torch

    from .cpu import map_ordered, workers

    window = binary_segmentations.sliding_window
    num_chunks, num_frames, num_speakers = binary_segmentations.data.shape
    min_num_frames = -1
    if exclude_overlap:
        num_samples = window.duration * pipeline._embedding.sample_rate
        min_num_frames = math.ceil(num_frames * pipeline._embedding.min_num_samples / num_samples)

    def embed(c: int) -> np.ndarray:
        waveform, _ = pipeline._audio.crop(file, window[c], mode="pad")
        masks = embedding_masks(binary_segmentations.data[c], exclude_overlap, min_num_frames)
        batch = waveform[None].expand(num_speakers, -1, -1)
        with torch.inference_mode():
            return pipeline._embedding(batch, masks=torch.from_numpy(masks))

    group = 8 * workers()
    if hook is not None:
        hook("embeddings", None, total=num_chunks, completed=0)
    out: list[np.ndarray] = []
    for e in map_ordered(embed, range(num_chunks)):  # at most 2 × workers chunks in flight
        out.append(e)
        if hook is not None and (len(out) % group == 0 or len(out) == num_chunks):
            hook("embeddings", None, total=num_chunks, completed=len(out))
    if not out:
        return np.zeros((0, num_speakers, pipeline._embedding.dimension), dtype=np.float32)
    return np.stack(out)


def _parallel_infer(inference) -> None:
    """Split each segmentation batch across the CPU workers (same chunks, same order)."""
    import torch

    from .cpu import map_ordered, workers

    infer = inference.infer  # bound: applies the conversion the band swap may replace

    def parallel(chunks: torch.Tensor):
        parts = list(map_ordered(infer, torch.tensor_split(chunks, min(workers(), len(chunks)))))
        if isinstance(parts[0], tuple):  # a multi-task model: one array per task
            return tuple(np.concatenate(p, axis=0) for p in zip(*parts))
        return np.concatenate(parts, axis=0)

    inference.infer = parallel


class Diarizer:
    """Loads a diarization pipeline once; :meth:`__call__` runs it on 16 kHz mono audio."""

    def __init__(
        self,
        name: str = EMBEDDED_DIARIZATION,
        device: Device = Device("cpu", "int8"),
        params: DiarizationParams | None = None,
    ):
        import torch
        from pyannote.audio import Model

        self.name = name
        cls = _parley_pipeline_class()
        if name == EMBEDDED_DIARIZATION:
            from .campplus import CAMPPlus

            self.params = params or EMBEDDED_PARAMS
            segmentation = Model.from_pretrained(str(embedded_segmentation_path()))
            self.pipeline = cls(
                segmentation=segmentation,
                embedding=CAMPPlus(embedded_campplus_path()),
                embedding_exclude_overlap=self.params.exclude_overlap,
                plda=_no_plda(),
                clustering="AgglomerativeClustering",
                # small batches: pyannote's hook (where a cancel is seen) runs once per batch, so a
                # cancel lands within about a second; CAM++ activations of 32 ten-second chunks also
                # cost ~400 MB more RSS and are no faster
                segmentation_batch_size=8,
                embedding_batch_size=4,
            )
            self.pipeline.instantiate(self.params.as_pyannote())
        else:
            self.params = params
            self.pipeline = _from_pretrained(name)
            self.pipeline.__class__ = cls  # same state, plus soft activations
        if getattr(self.pipeline, "clustering", None) is not None:  # long meetings: bounded linkage (diarization/bounded.py)
            from .bounded import bound_clustering

            bound_clustering(self.pipeline.clustering)
        if device.kind == "cuda":
            self.pipeline.to(torch.device("cuda"))
        else:  # whole forward passes on Parley's CPU workers (diarization/cpu.py)
            from .cpu import single_threaded_torch, tune_allocator

            tune_allocator()
            single_threaded_torch()
            self.pipeline._parley_cpu = True
            if getattr(self.pipeline, "_segmentation", None) is not None:
                _parallel_infer(self.pipeline._segmentation)
        self._cancel = threading.Event()
        #: log-odds off the no-speech class on telephone-band audio (None: diarization.band's default; 0: off)
        self.speech_bias: float | None = None
        self.narrowband = False

    def cancel(self) -> None:
        self._cancel.set()

    def reset_cancel(self) -> None:
        self._cancel.clear()

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """Speaker embedding of a mono 16 kHz clip, in the same space as the centroids."""
        import torch

        with torch.inference_mode():
            return np.asarray(self.pipeline._embedding(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, None]))[0]

    def embed_many(self, clips: list[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """Embeddings of many clips (n, dim): clips of equal length run as one batch."""
        import torch

        out: list[np.ndarray | None] = [None] * len(clips)
        by_length: dict[int, list[int]] = {}
        for i, c in enumerate(clips):
            by_length.setdefault(len(c), []).append(i)
        from .cpu import map_ordered, workers

        cpu = getattr(self.pipeline, "_parley_cpu", False)
        if cpu:  # one batch per CPU worker at a time
            batch_size = max(1, min(batch_size, 8))
        parts = [idx[k : k + batch_size] for idx in by_length.values() for k in range(0, len(idx), batch_size)]

        def embed(part: list[int]) -> np.ndarray:
            x = torch.from_numpy(np.stack([np.asarray(clips[i], dtype=np.float32) for i in part]))[:, None]
            with torch.inference_mode():
                return np.asarray(self.pipeline._embedding(x))

        n = workers() if cpu else 1
        for part, embeddings in zip(parts, map_ordered(embed, parts, n=n)):
            for i, e in zip(part, embeddings):
                out[i] = e
        return np.stack(out) if out else np.zeros((0, 0), dtype=np.float32)

    def __call__(
        self,
        audio: np.ndarray,
        *,
        sample_rate: int = 16_000,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: ProgressFn | None = None,
    ) -> Diarization:
        import torch


        def hook(step_name, step_artifact, file=None, total=None, completed=None):
            if self._cancel.is_set():
                raise Cancelled("diarization cancelled")
            if progress is not None:
                progress(step_name, completed, total)

        file = {"waveform": torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None], "sample_rate": sample_rate, "uri": "meeting"}
        with torch.inference_mode(), self._band_matched(audio, sample_rate):
            out = self.pipeline(
                file, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers, hook=hook
            )
        return self._convert(out)

    def _band_matched(self, audio: np.ndarray, sample_rate: int):
        """Telephone-band audio: the segmentation's no-speech class handicapped for this call
        (:mod:`diarization.band`); ``self.narrowband`` says what the last call decided."""
        from contextlib import contextmanager

        from .band import NARROWBAND_SPEECH_BIAS, BiasedPowerset, is_narrowband

        @contextmanager
        def swap():
            inference = getattr(self.pipeline, "_segmentation", None)
            base = getattr(inference, "conversion", None)
            self.narrowband = is_narrowband(audio, sample_rate)
            bias = self.speech_bias if self.speech_bias is not None else NARROWBAND_SPEECH_BIAS
            if not self.narrowband or not bias or not hasattr(base, "max_set_size"):  # wideband, or not a powerset model
                yield
                return
            inference.conversion = BiasedPowerset(base, bias)
            try:
                yield
            finally:
                inference.conversion = base

        return swap()

    def _convert(self, out) -> Diarization:
        annotation, exclusive = out.speaker_diarization, out.exclusive_speaker_diarization
        speakers = tuple(sorted(annotation.labels()))
        segments = tuple(
            sorted(
                (SpeakerSegment(float(s.start), float(s.end), str(label)) for s, _, label in annotation.itertracks(yield_label=True)),
                key=lambda x: (x.start, x.end),
            )
        )
        excl = tuple(
            sorted(
                (SpeakerSegment(float(s.start), float(s.end), str(label)) for s, _, label in exclusive.itertracks(yield_label=True)),
                key=lambda x: (x.start, x.end),
            )
        )
        activations = None
        soft, clusters = getattr(self.pipeline, "_soft", None), getattr(self.pipeline, "_cluster_labels", None)
        if soft is not None and clusters is not None and speakers:
            # pyannote renames sorted cluster ids to SPEAKER_00, SPEAKER_01, ... in order
            # (a label beyond the clustered ones comes from pyannote padding the speaker count: no soft data)
            cluster_of = {label: c for c, label in zip(clusters, sorted(annotation.labels()))}
            data = np.zeros((soft.data.shape[0], len(speakers)), dtype=np.float32)
            for j, s in enumerate(speakers):
                c = cluster_of.get(s)
                if c is not None and 0 <= c < soft.data.shape[1]:
                    data[:, j] = np.nan_to_num(soft.data[:, c])
            sw = soft.sliding_window
            activations = Activations(start=float(sw.start + sw.duration / 2), step=float(sw.step), speakers=speakers, values=data)
        centroids = None
        if out.speaker_embeddings is not None and len(speakers):
            centroids = np.asarray(out.speaker_embeddings, dtype=np.float32)
        return Diarization(segments=segments, exclusive=excl, speakers=speakers, activations=activations, centroids=centroids, model=self.name)


def _no_plda():
    """A placeholder PLDA: agglomerative clustering never uses one, but pyannote's constructor requires it."""
    from pyannote.audio.core.plda import PLDA

    class NoPLDA(PLDA):
        def __init__(self):  # no weights: VBx is not available offline
            self.lda_dimension = 0

    return NoPLDA()


def _from_pretrained(name: str):
    from pyannote.audio import Pipeline

    token = hf_token()
    try:
        pipeline = Pipeline.from_pretrained(name, token=token)
    except Exception as exc:  # hub errors come in many types; all mean "cannot load"
        from .models import _hub_reason

        raise ModelUnavailable(_hub_reason("diarization pipeline", name, exc)) from exc
    if pipeline is None:
        hint = "set HF_TOKEN and accept its conditions on Hugging Face" if token is None else "check network access and the token's permissions"
        raise ModelUnavailable(f"diarization pipeline {name!r} could not be loaded: {hint}")
    return pipeline


KNOWN_PIPELINES = (EMBEDDED_DIARIZATION, COMMUNITY_1, "pyannote/speaker-diarization-3.1")
