"""bin/mutation --sample: the sample each package's score is estimated from, and its interval."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bin"))

from mutation_results import wilson_interval  # noqa: E402
from mutation_sample import sample  # noqa: E402


@pytest.fixture
def mutants(tmp_path):
    """A generated run: 30 mutants in fal, 12 in catalog, some with verdicts."""
    for path, package, count in (("fal/types.py", "fal", 30), ("catalog/cards.py", "catalog", 12)):
        meta = tmp_path / (path + ".meta")
        meta.parent.mkdir(parents=True, exist_ok=True)
        names = {f"{package}.m.x_f__mutmut_{i}": (1 if i % 3 == 0 else None) for i in range(count)}
        meta.write_text(json.dumps({"exit_code_by_key": names}))
    return tmp_path


def test_the_same_number_is_drawn_from_each_package_and_a_small_package_whole(mutants):
    drawn = sample(20, mutants)

    assert sum(name.startswith("fal.") for name in drawn) == 20
    assert sum(name.startswith("catalog.") for name in drawn) == 12


def test_a_larger_sample_keeps_the_smaller_one_so_its_verdicts_count(mutants):
    small, large = sample(5, mutants), sample(15, mutants)

    assert set(small) < set(large)
    assert sample(5, mutants) == small  # the same from run to run
    fal_drawn = sorted(name for name in small if name.startswith("fal."))
    first_five = sorted(name for name in sample(30, mutants) if name.startswith("fal."))[:5]
    assert fal_drawn != first_five  # shuffled, not the first names in order


def test_each_drawn_mutant_carries_its_verdict_or_none_when_not_checked(mutants):
    drawn = sample(30, mutants)

    assert drawn["fal.m.x_f__mutmut_3"] == 1
    assert drawn["fal.m.x_f__mutmut_4"] is None


@pytest.mark.parametrize(
    ("killed", "survived", "interval"),
    [
        (38, 2, [0.835, 0.986]),  # Wilson 95% of 38/40
        (40, 0, [0.912, 1.0]),  # a perfect sample still leaves room below
        (0, 0, None),
    ],
)
def test_the_interval_of_a_sampled_score(killed, survived, interval):
    figures = {"killed": killed, "timeout": 0, "survived": survived}

    assert wilson_interval(figures) == interval
