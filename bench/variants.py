"""Stage variants for the out-of-sample report: the voice stage and overlap recovery re-run with
other settings (or off) on one file's diarization and transcript, from the same pipeline run.

Speaker embeddings and re-transcribed clips are cached per span, so variants that look at the
same audio cost nothing more; the diarization and the main transcript are never recomputed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from diarization.overlap import OverlapOptions
from diarization.voices import VoiceOptions
from meetings.types import PipelineOptions

#: name -> options (None: the stage off). The first after "off" is the pipeline's default.
VOICE_VARIANTS = {
    "off": None,
    "default": VoiceOptions(),
    "same_voice=0.25": VoiceOptions(same_voice=0.25),
    "same_voice=0.35": VoiceOptions(same_voice=0.35),
    "cohesion=0.6": VoiceOptions(cohesion_ratio=0.6),
    "cohesion=0.9": VoiceOptions(cohesion_ratio=0.9),
    "no_refine": VoiceOptions(refine=False),
    "absorb_apart=0 (keep every diarized speaker)": VoiceOptions(absorb_apart=0.0),
}
OVERLAP_VARIANTS = {
    "off": None,
    "default": OverlapOptions(),
    "min_probability=0.35": OverlapOptions(min_probability=0.35),
    "min_probability=0.75": OverlapOptions(min_probability=0.75),
    "min_words=1": OverlapOptions(min_words=1),
    "min_words=3": OverlapOptions(min_words=3),
}


#: the overlap variant the pipeline ships ("off" unless PipelineOptions.recover_overlap)
OVERLAP_SHIPPED = "default" if PipelineOptions().recover_overlap else "off"


class Cached:
    """The engine's embedder and clip transcriber for one WAV, remembered per span."""

    def __init__(self, engine, wav: Path):
        self.engine, self.wav = engine, wav
        self.emb: dict[tuple[float, float], object] = {}
        self.clips: dict[tuple[str, float, float], tuple] = {}

    def embed_many(self, spans):
        import numpy as np

        from capture.decode import read_mono

        todo = [s for s in spans if (round(s[0], 3), round(s[1], 3)) not in self.emb]
        if todo:
            for s, e in zip(todo, self.engine.diarizer.embed_many([read_mono(self.wav, a, b) for a, b in todo])):
                self.emb[(round(s[0], 3), round(s[1], 3))] = e
        return np.stack([self.emb[(round(a, 3), round(b, 3))] for a, b in spans])

    def clip(self, dia, h):
        from meetings.pipeline import _transcribe_hidden

        key = (h.speaker, round(h.start, 3), round(h.end, 3))
        if key not in self.clips:
            self.clips[key] = tuple(_transcribe_hidden(self.engine, self.wav, dia, h))
        return self.clips[key]


def run_variants(engine, wav: Path, processed) -> dict[str, list]:
    """``"voice|overlap"`` → final turns (before confidence), for every pair of variants."""
    from diarization.align import reshare
    from diarization.overlap import recover_overlaps
    from diarization.voices import recluster_voices
    from meetings.pipeline import _with_new_voices

    cache = Cached(engine, wav)
    raw = processed.diarization
    speakers = tuple(sorted({s.speaker for s in raw.segments}))
    raw = replace(raw, speakers=speakers, centroids=None)
    out = {}
    for vname, vopts in VOICE_VARIANTS.items():
        turns, dia = list(processed.primary_turns), raw
        if vopts is not None and turns:
            voices = recluster_voices(turns, speakers, lambda a, b: cache.embed_many([(a, b)])[0], vopts, embed_many=cache.embed_many)
            dia = _with_new_voices(raw, voices.speakers, voices.new_centroids)
            turns = reshare(list(voices.turns), dia)
        for oname, oopts in OVERLAP_VARIANTS.items():
            t = turns
            if oopts is not None and len(dia.speakers) > 1:
                t = recover_overlaps(turns, dia, lambda h, dia=dia: cache.clip(dia, h), oopts)
            out[f"{vname}|{oname}"] = list(t)
    return out
