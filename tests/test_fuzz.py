"""Property-based fuzzing (hypothesis) of what a user hands gankit: ``--set`` values, config
files, point files and a damaged run directory; the properties live in tests/fuzzing.py,
benchmarks/fuzz.py runs them longer. Few examples here: the whole file stays near 20 s."""

from pathlib import Path

import pytest
from conftest import QUICK_OUTPUTS, SMALL_DATA, TINY_NETS
from fuzzing import config_files, points_files, run_damage, set_values, with_examples


def test_set_values_give_a_config_or_one_sentence():
    with_examples(set_values, 150)()


def test_config_files_give_a_config_or_one_sentence():
    with_examples(config_files, 60)()


def test_point_files_give_finite_points_or_one_sentence():
    with_examples(points_files, 40)()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished tiny sine run (checkpoints at 10 and 20, scores, pictures, report)."""
    from gankit import training
    from gankit.config import load_config
    from gankit.outputs import finish

    cfg = load_config("sine", [*TINY_NETS, *SMALL_DATA, *QUICK_OUTPUTS, "train.steps=20"])
    run = training.start(cfg, tmp_path_factory.mktemp("fuzz") / "r", progress=False)
    finish(run)
    return run.path


def test_a_damaged_run_directory_gives_a_result_or_one_sentence(trained):
    run_damage(trained, max_examples=6)
