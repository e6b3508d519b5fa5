"""Importing many recordings at once (``parley import DIR_OR_FILES...``).

Every input is checked first (it exists, FFmpeg can open it, it has an audio track; identical
files are imported once), so a bad file is reported before any model loads. The good ones then
go through one :class:`~meetings.pipeline.Engine` (models loaded once), or through ``jobs``
worker processes with one engine each; a file that fails does not stop the others. Each worker
gets an equal share of the CPU threads; the number of workers is capped by the memory free.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meetings.errors import ParleyError

__all__ = ["AUDIO_EXTENSIONS", "WORKER_MEMORY_BYTES", "FileResult", "Inputs", "collect_inputs", "check_inputs", "plan_jobs", "import_files", "summary_lines", "batch_command"]

#: what a folder is searched for (explicitly named files are tried whatever their name)
AUDIO_EXTENSIONS = frozenset(
    ".wav .flac .mp3 .m4a .aac .ogg .oga .opus .webm .mp4 .m4v .mov .mkv .wma .aif .aiff .amr .3gp".split()
)
#: peak memory of one worker with the embedded models on a 30-min call (measured ~2 GB; headroom)
WORKER_MEMORY_BYTES = int(2.5 * 2**30)


@dataclass(frozen=True, slots=True)
class FileResult:
    path: Path
    meeting_id: int | None = None
    duplicate: bool = False
    error: str | None = None
    duration: float = 0.0
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Inputs:
    files: tuple[Path, ...]  # to import, in order
    failed: tuple[FileResult, ...] = ()  # rejected before any model loads
    skipped: tuple[FileResult, ...] = field(default=())  # same content as an earlier input


def collect_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files named, plus the audio/video files inside folders named (recursively, sorted)."""
    files: list[Path] = []
    failed: list[FileResult] = []
    for p in paths:
        p = Path(p).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS and not f.name.startswith("."))
            if not found:
                failed.append(FileResult(p, error=f"{p}: no audio or video files in this folder"))
            files += found
        elif p.exists():
            files.append(p)
        else:
            failed.append(FileResult(p, error=f"{p}: no such file"))
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, failed


def check_inputs(files: Sequence[Path]) -> Inputs:
    """Probe every file (cheap: no decoding, no models) and drop repeated content."""
    from capture.decode import file_sha256, probe

    good: list[Path] = []
    failed: list[FileResult] = []
    skipped: list[FileResult] = []
    first_of: dict[str, Path] = {}
    for f in files:
        try:
            probe(f)
            sha = file_sha256(f)
        except ParleyError as exc:
            failed.append(FileResult(f, error=str(exc)))
            continue
        except OSError as exc:
            failed.append(FileResult(f, error=f"{f.name}: cannot read ({exc.strerror or exc})"))
            continue
        if sha in first_of:
            skipped.append(FileResult(f, duplicate=True, error=None, warnings=(f"same content as {first_of[sha].name}",)))
            continue
        first_of[sha] = f
        good.append(f)
    return Inputs(tuple(good), tuple(failed), tuple(skipped))


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # not installed, or no answer on this platform
        return None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def plan_jobs(requested: int, files: int, *, available: int | None = None, per_worker: int = WORKER_MEMORY_BYTES) -> tuple[int, str]:
    """How many workers to run, and why fewer than asked ("" when as asked)."""
    jobs = max(1, min(requested, files))
    note = ""
    if available is None:
        available = _available_memory()
    if available is not None and jobs > 1:
        fit = max(1, int(available // per_worker))
        if fit < jobs:
            note = f"running {fit} worker{'s' if fit > 1 else ''}, not {jobs}: {available / 2**30:.1f} GB of memory free, each needs about {per_worker / 2**30:.1f} GB"
            jobs = fit
    return jobs, note


# -- one worker process (or the calling process when jobs == 1) ----------------------------------

_ENGINE = None  # this process's engine: created on its first file, reused for every later one


def _engine(options, threads: int):
    global _ENGINE
    if _ENGINE is None or _ENGINE.options != options:
        if threads:
            os.environ["OMP_NUM_THREADS"] = str(threads)
            os.environ["PARLEY_CPU_THREADS"] = str(threads)
            import torch

            torch.set_num_threads(threads)
        from meetings.pipeline import Engine

        _ENGINE = Engine(options)
    return _ENGINE


def _import_one(path: str, options, db_path: str, threads: int = 0) -> FileResult:
    from meetings.store import Store

    p = Path(path)
    t0 = time.perf_counter()
    try:
        engine = _engine(options, threads)  # a model that cannot load fails each file with its reason
        store = Store(db_path)  # never mark_interrupted here: other workers' imports are in progress
        try:
            r = engine.import_file(p, store)
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()
        return FileResult(p, r.meeting_id, r.duplicate, None, r.duration, time.perf_counter() - t0, tuple(r.warnings))
    except ParleyError as exc:
        return FileResult(p, error=str(exc), seconds=time.perf_counter() - t0)
    except Exception as exc:  # a bug or an environment problem: this file fails, the batch goes on
        return FileResult(p, error=f"{p.name}: {type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0)


def import_files(
    files: Sequence[Path],
    options,
    db_path: str | os.PathLike[str],
    *,
    jobs: int = 1,
    on_result: Callable[[FileResult], None] = lambda r: None,
    engine=None,
) -> list[FileResult]:
    """Import ``files`` (already checked) into the database at ``db_path``; results in input order."""
    global _ENGINE
    if not files:
        return []
    if jobs <= 1:
        if engine is not None:
            _ENGINE = engine
        out = []
        for f in files:
            r = _import_one(str(f), options, str(db_path))
            on_result(r)
            out.append(r)
        return out

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    threads = max(1, _cpus() // jobs)
    results: dict[Path, FileResult] = {}
    ctx = multiprocessing.get_context("spawn")  # never fork a process that holds torch threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {pool.submit(_import_one, str(f), options, str(db_path), threads): Path(f) for f in files}
        for fut in as_completed(futures):
            f = futures[fut]
            try:
                r = fut.result()
            except BrokenProcessPool:
                r = FileResult(f, error=f"{f.name}: the worker process died (out of memory? try fewer --jobs)")
            except Exception as exc:
                r = FileResult(f, error=f"{f.name}: {type(exc).__name__}: {exc}")
            results[f] = r
            on_result(r)
    return [results[Path(f)] for f in files]


def summary_lines(results: Sequence[FileResult]) -> list[str]:
    """What failed and why, for stderr (empty when nothing failed)."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return []
    lines = [f"{len(failed)} of {len(results)} file{'s' if len(results) != 1 else ''} failed:"]
    lines += [f"  {r.path}: {r.error.split(': ', 1)[-1] if r.error.startswith((str(r.path), r.path.name)) else r.error}" for r in failed]
    return lines


def _mmss(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def batch_command(args, store, options) -> int:
    """``parley import A B DIR ...``: a progress bar over files, one line per meeting on stdout,
    what failed and why on stderr. Exit status 0 when every file was imported (or already was),
    1 when some failed, 2 when none could be imported."""
    import sys

    files, failed = collect_inputs(args.files)
    checked = check_inputs(files)
    failed += list(checked.failed)
    for r in checked.skipped:
        print(f"skipping {r.path}: {r.warnings[0]}", file=sys.stderr)
    todo = checked.files
    if not todo:
        for line in summary_lines(failed):
            print(line, file=sys.stderr)
        raise ParleyError("nothing to import" + (f": {failed[0].error}" if len(failed) == 1 else ""))
    jobs, note = plan_jobs(args.jobs, len(todo))
    if note:
        print(note, file=sys.stderr)
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="import", unit="file", file=sys.stderr)
    elif not args.quiet:
        print(f"importing {len(todo)} file{'s' if len(todo) != 1 else ''} with {jobs} worker{'s' if jobs != 1 else ''}", file=sys.stderr)
    done = 0

    def report(r: FileResult) -> None:
        nonlocal done
        done += 1
        if r.ok:
            state = "already imported" if r.duplicate else f"{_mmss(r.duration)} in {r.seconds:.0f} s"
            line = f"meeting {r.meeting_id:>4}  {r.path}  ({state})"
        else:
            line = f"failed        {r.path}: {r.error}"
        if bar is not None:
            bar.write(line, file=sys.stdout)
            bar.update(1)
        else:
            print(line, flush=True)
        if not args.quiet:
            for w in r.warnings:
                print(f"warning: {r.path.name}: {w}", file=sys.stderr)
        if r.ok and not r.duplicate:
            from meetings.people_cli import print_naming

            print_naming(store, r.meeting_id)  # who was named from voice profiles, who only got a suggestion

    try:
        results = import_files(todo, options, store.path, jobs=jobs, on_result=report)
    finally:
        if bar is not None:
            bar.close()
    results = list(failed) + results
    lines = summary_lines(results)
    for line in lines:
        print(line, file=sys.stderr)
    ok = sum(r.ok for r in results)
    if not args.quiet:
        print(f"imported {ok} of {len(results)} file{'s' if len(results) != 1 else ''}", file=sys.stderr)
    return 0 if not lines else (1 if ok else 2)
