"""The Atari frame cache: size on disk and load time of 12,000 Breakout frames, per format.

    .venv/bin/python -m benchmarks.frame_cache [--frames 12000] [--loads 5] [--note TEXT]
    .venv/bin/python -m benchmarks.frame_cache --render [--note TEXT]   # the page from the JSON

Writes benchmarks/results/frame_cache.json and docs/benchmarks/frame-cache.md. The frames
are the ones `gankit train` uses (gankit.data.atari.load_frames: collected on first use,
cached since). Each format is written to a temporary folder, flushed to disk, then loaded
``--loads`` times, each load in a fresh Python process after the file's pages are dropped from
the page cache (posix_fadvise DONTNEED on that file alone): cold-ish, as a new `gankit train`
finds it. The figure is the median; every load is checked bit for bit against the frames.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gankit.data import atari

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "frame_cache.json"
RAW_5000_BYTES = 504_000_128  # the figure: 5,000 raw frames as a .npy
MAX_SHARE = 0.1  # the target: at most a tenth of the raw cache
MAX_LOAD_S = 2.0  # the target: 12,000 frames load in at most this


def _zstd_npy(level: int) -> Callable[[Any, np.ndarray], None]:
    def write(f: Any, frames: np.ndarray) -> None:
        import zstandard

        cctx = zstandard.ZstdCompressor(level=level, threads=-1)
        with cctx.stream_writer(f, closefd=False) as z:
            np.save(z, frames, allow_pickle=False)

    return write


def _write_palette(f: Any, frames: np.ndarray) -> None:
    """One uint8 palette index per pixel (Breakout has 9 colours), then zstd level 1."""
    import zstandard

    def codes(chunk: np.ndarray) -> np.ndarray:  # 24-bit colour numbers
        c = chunk.astype(np.uint32)
        return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]

    chunks = range(0, len(frames), 500)  # a frame's 3 bytes become 4: chunks bound the memory
    used = np.zeros(1 << 24, bool)
    for i in chunks:
        used[codes(frames[i : i + 500])] = True
    colours = np.flatnonzero(used)
    if len(colours) > 256:
        raise ValueError(f"{len(colours)} colours do not fit a uint8 palette")
    index = np.zeros(1 << 24, np.uint8)
    index[colours] = np.arange(len(colours), dtype=np.uint8)
    indices = np.empty(frames.shape[:3], np.uint8)
    for i in chunks:
        indices[i : i + 500] = index[codes(frames[i : i + 500])]
    palette = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], 1).astype(np.uint8)
    with zstandard.ZstdCompressor(level=1, threads=-1).stream_writer(f, closefd=False) as z:
        np.save(z, palette, allow_pickle=False)
        np.save(z, indices, allow_pickle=False)


def _read_palette(path: Path) -> np.ndarray:
    import zstandard

    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as z:
        palette = np.lib.format.read_array(z, allow_pickle=False)
        return palette[np.lib.format.read_array(z, allow_pickle=False)]


def _write_zlib(f: Any, frames: np.ndarray) -> None:
    np.savez_compressed(f, frames=frames)


def _read_zlib(path: Path) -> np.ndarray:
    with np.load(path) as data:
        return data["frames"]


# name -> (what it is, write to an open file, load from a path); the first is gankit's
FORMATS: dict[str, tuple[str, Callable, Callable]] = {
    "zstd-1": (
        f"**gankit's cache**: the .npy compressed by zstd level {atari.ZSTD_LEVEL}, decompressed "
        "straight into the array (`gankit/data/atari.py`)",
        atari.write_frames,
        atari.read_frames,
    ),
    "raw": ("raw .npy, the cache before", lambda f, x: np.save(f, x), np.load),
    "zstd-3": (
        "the .npy compressed by zstd level 3 (zstd's default)",
        _zstd_npy(3),
        atari.read_frames,
    ),
    "palette-zstd": (
        "uint8 palette index per pixel plus the palette, zstd level 1",
        _write_palette,
        _read_palette,
    ),
    "zlib": ("np.savez_compressed (zlib)", _write_zlib, _read_zlib),
}


def timed_load(name: str, path: str) -> None:
    """In a fresh process: load once and print the seconds it took (imports not counted)."""
    load = FORMATS[name][2]
    start = time.perf_counter()
    frames = load(Path(path))
    print(time.perf_counter() - start, frames.shape)


def _drop_from_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def measure(name: str, frames: np.ndarray, folder: Path, loads: int) -> dict:
    what, write, load = FORMATS[name]
    path = folder / f"frames-{name}"
    start = time.perf_counter()
    with open(path, "wb") as f:
        write(f, frames)
        f.flush()
        os.fsync(f.fileno())  # dirty pages cannot be dropped from the page cache
    write_s = time.perf_counter() - start
    identical = bool(np.array_equal(load(path), frames))
    seconds = []
    for _ in range(loads):
        _drop_from_page_cache(path)
        code = f"from benchmarks.frame_cache import timed_load; timed_load({name!r}, {str(path)!r})"
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        seconds.append(float(out.split()[0]))
    size = path.stat().st_size
    path.unlink()
    row = {"format": name, "what": what, "bytes": size, "bytes_per_frame": size / len(frames),
           "write_s": write_s, "load_s": statistics.median(seconds), "loads_s": seconds,
           "identical": identical}  # fmt: skip
    print(json.dumps(row), flush=True)
    return row


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


def write_markdown(results: dict) -> str:
    n = results["frames"]
    rows = results["rows"]
    raw = next(r for r in rows if r["format"] == "raw")
    lines = [
        "# Atari frame cache: size and load time",
        "",
        f"Command: `{results['command']}`  ",
        f"Date: {results['date']}  ",
        f"Machine: {results['machine']}, numpy {results['numpy']}, zstandard "
        f"{results['zstandard']}  ",
        f"Load average (1 min) before / after: {results['load_before']:.2f} / "
        f"{results['load_after']:.2f} (the machine is shared with other work); the whole run "
        f"took {results['wall_s']} s.",
        "",
        f"{n:,} distinct Breakout frames, `uint8 ({n}, 210, 160, 3)`, "
        f"{raw['bytes'] / 1e9:.2f} GB as a raw array: collected by "
        f"`gankit.data.atari.load_frames('breakout', {n})` (frameskip 4, dedupe, seed 0; "
        f"collecting them took {results['collect_s']:.1f} s of play). Each format is written to "
        "a temporary folder and flushed to disk, then loaded "
        f"{results['loads']} times, each load in a fresh Python process after the file is "
        "dropped from the page cache (posix_fadvise DONTNEED on that file): load s is the "
        "median, imports not counted. Every format gave back the frames bit for bit "
        f"({'yes' if all(r['identical'] for r in rows) else '**NO**'}).",
        "",
        "| format | bytes | MB | bytes per frame | share of raw | write s | load s (median) "
        "| loads s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        loads = ", ".join(f"{s:.2f}" for s in r["loads_s"])
        lines.append(
            f"| {r['what']} | {r['bytes']:,} | {_mb(r['bytes'])} | {r['bytes_per_frame']:,.0f} | "
            f"{r['bytes'] / raw['bytes']:.2%} | {r['write_s']:.2f} | {r['load_s']:.2f} | "
            f"{loads} |"
        )
    chosen = rows[0]
    per_5000 = chosen["bytes_per_frame"] * 5000
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    lines += [
        "",
        "## Against the targets",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        f"| 5,000 Breakout frames cached in at most a tenth of {RAW_5000_BYTES / 1e6:.0f} MB "
        f"| {per_5000 / 1e6:.2f} MB at this run's {chosen['bytes_per_frame']:,.0f} bytes per "
        f"frame ({chosen['bytes'] / raw['bytes']:.2%} of raw) "
        f"| {yes(per_5000 <= MAX_SHARE * RAW_5000_BYTES)} |",
        f"| {n:,} frames load in at most {MAX_LOAD_S:.0f} s | {chosen['load_s']:.2f} s "
        f"(median; slowest {max(chosen['loads_s']):.2f} s) "
        f"| {yes(chosen['load_s'] <= MAX_LOAD_S)} |",
        "",
        *_why(rows),
    ]
    for note in results.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _why(rows: list[dict]) -> list[str]:
    """The choice, in this run's numbers."""
    by = {r["format"]: r for r in rows}
    if not {"zstd-1", "zstd-3", "palette-zstd", "zlib"} <= set(by):
        return []
    one, three, pal, zlib = by["zstd-1"], by["zstd-3"], by["palette-zstd"], by["zlib"]
    return [
        "Why zstd level 1 on the plain .npy: it meets both targets with the least code (a "
        "standard .npy once `zstd -d` has run; no palette to build, no format of our own). "
        f"Level 1 wrote {one['bytes_per_frame']:,.0f} bytes a frame in {one['write_s']:.1f} s, "
        f"level 3 {three['bytes_per_frame']:,.0f} in {three['write_s']:.1f} s. A palette index "
        "per pixel gives zstd a third of the bytes to decompress, but expanding the indices "
        f"back to RGB (a gather over every pixel) made it load in {pal['load_s']:.2f} s "
        f"against {one['load_s']:.2f} s, at {pal['bytes_per_frame']:,.0f} bytes a frame; zlib "
        f"(np.savez_compressed) loaded in {zlib['load_s']:.2f} s and wrote in "
        f"{zlib['write_s']:.1f} s."
    ]


def main() -> None:
    import zstandard

    from benchmarks.toy import machine  # imports torch: not for the loading processes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=12_000)
    ap.add_argument("--loads", type=int, default=5, help="loads per format; the median counts")
    ap.add_argument("--formats", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "frame-cache.md"))
    ap.add_argument("--note", action="append", default=[], help="a paragraph for the page")
    ap.add_argument("--render", action="store_true", help="rewrite the page from the JSON")
    args = ap.parse_args()
    if args.render:  # --note adds to the saved notes
        results = json.loads(RESULTS.read_text())
        results["notes"] = [*results.get("notes", []), *args.note]
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        Path(args.out).write_text(write_markdown(results))
        print(f"wrote {args.out} from {RESULTS}")
        return
    if "raw" not in args.formats:
        args.formats.append("raw")  # every share is of raw
    start = time.perf_counter()
    results: dict = {
        "command": "python -m benchmarks.frame_cache"
        + (f" --frames {args.frames}" if args.frames != 12_000 else "")
        + (f" --loads {args.loads}" if args.loads != 5 else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "numpy": np.__version__,
        "zstandard": zstandard.__version__,
        "frames": args.frames,
        "loads": args.loads,
        "load_before": os.getloadavg()[0],
        "notes": args.note,
    }
    frames = atari.load_frames("breakout", args.frames)
    record = atari.frames_path("breakout", args.frames, 4, True, 0).with_suffix(".json")
    results["collect_s"] = json.loads(record.read_text())["seconds"]
    with tempfile.TemporaryDirectory() as tmp:
        results["rows"] = [measure(f, frames, Path(tmp), args.loads) for f in args.formats]
    results["load_after"] = os.getloadavg()[0]
    results["wall_s"] = round(time.perf_counter() - start, 1)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    Path(args.out).write_text(write_markdown(results))
    print(f"wrote {args.out} and {RESULTS} in {results['wall_s']} s")


if __name__ == "__main__":
    main()
