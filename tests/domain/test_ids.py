from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from starling.domain.ids import id_floor, id_time, new_id, parse_id


def test_ids_increase_within_a_process() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_fit_in_a_signed_64_bit_integer_and_carry_their_time() -> None:
    now = datetime.now(UTC)
    value = new_id()
    assert 0 < value < 2**63
    assert abs(id_time(value) - now) < timedelta(seconds=5)


def test_floor_is_below_every_later_id() -> None:
    at = datetime.now(UTC) - timedelta(seconds=1)
    assert id_floor(at) < new_id()


@given(st.text(max_size=25))
def test_parse_id_accepts_only_decimal_ids(raw: str) -> None:
    parsed = parse_id(raw)
    if parsed is not None:
        assert raw.isdigit() and int(raw) == parsed and parsed > 0


def test_parse_id_rejects_garbage() -> None:
    assert parse_id("12") == 12
    assert parse_id("0") is None
    assert parse_id("-1") is None
    assert parse_id("１２") is None  # full-width digits
    assert parse_id("9" * 25) is None
    assert parse_id(True) is None
