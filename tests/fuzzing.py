"""The property-based checks of what a user can hand gankit: ``--set`` values, config files,
point files and a damaged run directory. Each property asserts that gankit either takes the
input or answers it in one sentence (UserError: exit code 2; 3 for a run that diverged),
never with a traceback, and that a refusal leaves every earlier result as it was.

tests/test_fuzz.py runs them with few examples inside ``make test``'s budget;
benchmarks/fuzz.py runs them with many (docs/benchmarks/fuzz.md)."""

from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import hypothesis
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit.config import Config, load_config
from gankit.errors import UserError

# --- in-process CLI ----------------------------------------------------------------------


def cli(*args: str) -> tuple[int, str, str]:
    """``gankit ARGS`` in this process: (exit code, stdout, stderr). Anything but a
    SystemExit (a traceback's exception) propagates and fails the property."""
    from helpers import gankit_here

    r = gankit_here(*args, cwd=Path.cwd())
    return r.returncode, r.stdout, r.stderr


def assert_one_sentence(code: int, err: str) -> None:
    """A refusal: exit 2 (or 3) and one ``error:`` line on stderr, no traceback."""
    assert code in (2, 3), (code, err)
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err


# --- values and files --------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 1e-300, 1e300, 2**32, 2**63]),
)
# text as typed on one line (a newline typed into --set is echoed back in its message)
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
SCALARS = st.one_of(
    NUMBERS,
    st.booleans(),
    TEXT,
    st.sampled_from(["none", "true", "linear", "adam", "torch", "[1,2]", '"x"', "[]", "{}"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4))


def config_keys() -> list[str]:
    """Every ``section.key`` of the config."""
    keys = []
    for section, field in Config.model_fields.items():
        sub = getattr(field.annotation, "model_fields", None)
        if sub:
            keys += [f"{section}.{k}" for k in sub]
    return sorted(keys)


def toml_value(v: Any) -> str:
    """A value written as TOML would take it (and some it would not: nan, inf are TOML)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def override_text(v: Any) -> str:
    """A value as a user types it after ``--set key=``."""
    return toml_value(v) if not isinstance(v, str) else v


def _no_nan_saved(cfg: Config) -> None:
    """What config.json would hold is strict JSON: no NaN or infinity got past the door."""
    json.dumps(cfg.model_dump(mode="json"), allow_nan=False)


@given(key=st.sampled_from(config_keys()), value=VALUES)
def set_values(key: str, value: Any) -> None:
    """``--set key=value``: a config, or one sentence."""
    try:
        cfg = load_config("sine", [f"{key}={override_text(value)}"])
    except UserError as e:
        assert "\n" not in str(e).strip(), str(e)
        return
    _no_nan_saved(cfg)


@given(
    sections=st.dictionaries(
        st.sampled_from(["data", "model", "loss", "optim", "train", "eval", "viz", "bogus"]),
        st.dictionaries(
            st.text(min_size=1, max_size=10) | st.sampled_from(config_keys()), VALUES, max_size=3
        ),
        max_size=3,
    ),
    raw=st.one_of(st.none(), st.binary(max_size=64)),
)
def config_files(sections: dict[str, dict[str, Any]], raw: bytes | None) -> None:
    """``--config FILE``: TOML of random sections, keys and values, or random bytes."""
    if raw is None:
        lines = []
        for section, values in sections.items():
            lines.append(f"[{section}]")
            for k, v in values.items():
                k = k.split(".")[-1]
                lines.append(f"{json.dumps(k)} = {toml_value(v)}")
        raw = "\n".join(lines).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_bytes(raw)
        try:
            cfg = load_config("sine", None, path)
        except UserError as e:
            assert "\n" not in str(e).strip(), str(e)
            return
    _no_nan_saved(cfg)


DTYPES = st.sampled_from(
    ["float32", "float64", "int8", "int64", "uint8", "bool", "complex64", "float16", "U3"]
)
CELLS = st.one_of(NUMBERS.map(str), TEXT, st.just(""))


@st.composite
def point_files(draw: Any) -> tuple[str, bytes]:
    """A points file: a .npy of random type and shape, a CSV of random cells in a random
    encoding, or random bytes under either name."""
    kind = draw(st.sampled_from(["npy", "csv", "bytes"]))
    if kind == "npy":
        shape = draw(st.lists(st.integers(0, 5), min_size=0, max_size=3))
        dtype = draw(DTYPES)
        size = int(np.prod(shape))
        flat = draw(st.lists(st.floats(width=32), min_size=size, max_size=size))
        arr = np.asarray(flat, dtype=np.float64).reshape(shape)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = arr.astype(dtype) if dtype != "U3" else arr.astype(str)
        buf = io.BytesIO()
        np.save(buf, arr)
        return ".npy", buf.getvalue()
    if kind == "csv":
        rows = draw(st.lists(st.lists(CELLS, min_size=1, max_size=3), min_size=0, max_size=6))
        text = "\n".join(",".join(r) for r in rows)
        encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"]))
        return ".csv", text.encode(encoding, errors="replace")
    return draw(st.sampled_from([".npy", ".csv"])), draw(st.binary(max_size=64))


@given(file=point_files(), holdout=st.integers(1, 4))
def points_files(file: tuple[str, bytes], holdout: int) -> None:
    """``--set data.path=FILE`` on the points preset: points of finite float32, or one
    sentence naming the file."""
    from gankit.data import load_data

    suffix, content = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"p{suffix}"
        path.write_bytes(content)
        try:
            cfg = load_config("points", [f"data.path={path}", f"data.holdout={holdout}"])
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # numpy's casting warnings are silent results
                data = load_data(cfg.data, 0, progress=False)
        except UserError as e:
            assert "\n" not in str(e).strip(), str(e)
            return
    for x in (data.train, data.holdout):
        assert x.dtype == np.float32 and np.isfinite(x).all()


# --- a damaged run directory -------------------------------------------------------------

COMMANDS = {
    "eval": ["eval"],
    "doctor": ["doctor"],
    "report": ["report"],
    "sample": ["sample", "-n", "5", "--out", "SAMPLES"],
    "resume": ["train", "--quiet", "--set", "train.steps=25", "--resume"],
    "finish": ["train", "--quiet", "--resume"],
}
DAMAGE = st.sampled_from(["delete", "empty", "truncate", "garbage", "flip"])


def _files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def _damage(path: Path, how: str, at: float) -> None:
    data = path.read_bytes()
    if how == "delete":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "truncate":
        path.write_bytes(data[: int(len(data) * at)])
    elif how == "garbage":
        path.write_bytes(b"\x00\xff\xfe{ garbage")
    elif data:  # flip one byte
        i = min(int(len(data) * at), len(data) - 1)
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])


def run_damage(run: Path, max_examples: int, seed: int | None = None) -> None:
    """Damage one to three files of a copy of ``run`` and call one command on it."""
    names = sorted(_files(run))

    @given(
        hits=st.lists(
            st.tuples(st.sampled_from(names), DAMAGE, st.floats(0.0, 1.0)), min_size=1, max_size=3
        ),
        command=st.sampled_from(sorted(COMMANDS)),
    )
    def check(hits: list[tuple[str, str, float]], command: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "r"
            shutil.copytree(run, copy)
            for name, how, at in hits:
                if (copy / name).is_file():
                    _damage(copy / name, how, at)
            before = _files(copy)
            args = [a.replace("SAMPLES", str(Path(tmp) / "s.npy")) for a in COMMANDS[command]]
            code, _, err = cli(*args, str(copy))
            assert "Traceback" not in err
            after = _files(copy)
            # the weights of a run are never rewritten otherwise than bit for bit (a damaged
            # one may be trained again; older ones are let go by train.keep_checkpoints)
            # (a checkpoint whose JSON is hit is incomplete: its weights are damaged too)
            damaged = {
                n for name, _, _ in hits for n in (name, name.replace(".json", ".safetensors"))
            }
            for name, content in before.items():
                if name.endswith(".safetensors") and name in after and name not in damaged:
                    assert after[name] == content, name
            if code == 0:
                return
            assert_one_sentence(code, err)
            if command not in ("resume", "finish"):  # these may train, then be refused
                assert after == before  # a refusal changes nothing
            assert not (Path(tmp) / "s.npy").exists()

    with_examples(check, max_examples, seed)()


def with_examples(prop: Any, n: int, seed: int | None = None) -> Any:
    """A property with ``n`` examples, no deadline and no example database on disk: the same
    examples on every run (make test must not depend on luck), or, given ``seed``, a random
    search from it (benchmarks/fuzz.py)."""
    tuned = settings(
        max_examples=n, deadline=None, database=None, derandomize=seed is None,
        suppress_health_check=[HealthCheck.too_slow],
    )(prop)  # fmt: skip
    return tuned if seed is None else hypothesis.seed(seed)(tuned)
