from __future__ import annotations

from starling.services.maintenance import sketch


def test_small_sets_are_counted_exactly() -> None:
    sample = sketch.merge(sketch.account_hash(i) for i in range(100))
    assert sketch.is_complete(sample)
    assert sketch.estimate(sample) == 100.0
    again = sketch.merge(sample, [sketch.account_hash(i) for i in range(50, 150)])
    assert sketch.estimate(again) == 150.0


def test_large_sets_are_estimated_closely() -> None:
    sample = sketch.merge(sketch.account_hash(i) for i in range(20_000))
    assert len(sample) == sketch.SAMPLE_SIZE
    assert not sketch.is_complete(sample)
    assert abs(sketch.estimate(sample) - 20_000) / 20_000 < 0.2


def test_merging_parts_equals_sampling_the_union() -> None:
    a = sketch.merge(sketch.account_hash(i) for i in range(0, 3_000))
    b = sketch.merge(sketch.account_hash(i) for i in range(2_000, 6_000))
    whole = sketch.merge(sketch.account_hash(i) for i in range(0, 6_000))
    assert sketch.merge(a, b) == whole


def test_hashes_fit_json_numbers() -> None:
    assert all(0 <= sketch.account_hash(i) < 2**53 for i in (1, 2**62, 123456789))
    assert sketch.account_hash(42) == sketch.account_hash(42)
