"""Pure timing and scoring rules."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import InvalidInput
from exam.runner import timing
from exam.scoring import REGISTRY, ItemKey, check_answer, normalize_fill, validate_response

T0 = dt.datetime(2026, 6, 15, 1, 0, tzinfo=dt.UTC)


def test_deadline_is_duration_plus_extra_capped_by_window():
    close = T0 + dt.timedelta(hours=2)
    assert timing.deadline(T0, 30, 0, close) == T0 + dt.timedelta(minutes=30)
    assert timing.deadline(T0, 30, 15, close) == T0 + dt.timedelta(minutes=45)
    assert timing.deadline(T0, 120, 30, close) == close


def test_grace_and_expiry():
    d = T0 + dt.timedelta(minutes=30)
    assert timing.accept_until(d, 30) == d + dt.timedelta(seconds=30)
    assert timing.accepts_saves(d, 30, d + dt.timedelta(seconds=30))
    assert not timing.accepts_saves(d, 30, d + dt.timedelta(seconds=31))
    assert not timing.is_expired(d, 30, d + dt.timedelta(seconds=30))
    assert timing.is_expired(d, 30, d + dt.timedelta(seconds=31))
    assert timing.seconds_left(d, T0) == 1800
    assert timing.seconds_left(d, d + dt.timedelta(seconds=5)) == 0


def _key(type_, answer, order=(), options="ABCD", section=None, points=10):
    return ItemKey(type_, answer, points, tuple(order), tuple(options), section)


def test_registry_covers_all_types():
    assert set(REGISTRY) == {"single", "multiple", "true_false", "fill_blank"}


def test_single_maps_displayed_to_authored():
    key = _key("single", "A", ["C", "A", "D", "B"])
    assert check_answer("B", key).marks == 10
    assert check_answer("A", key).status == "wrong"
    assert check_answer(None, key).status == "blank"


def test_multiple_policies():
    order = ["B", "A", "D", "C"]  # authored A -> displayed B, C -> D
    strict = _key("multiple", ["A", "C"], order, section={"policy": "all_or_nothing"})
    assert check_answer(["B", "D"], strict).marks == 10
    assert check_answer(["B"], strict).marks == 0
    partial = _key(
        "multiple", ["A", "C"], order, section={"policy": "partial", "partial_fraction": 0.4}
    )
    r = check_answer(["B"], partial)
    assert (r.marks, r.status) == (4, "partial")
    assert check_answer(["B", "A"], partial).marks == 0  # a wrong pick earns nothing


def test_true_false():
    key = _key("true_false", False, options="")
    assert check_answer(False, key).is_correct
    assert not check_answer(True, key).is_correct


@pytest.mark.parametrize(
    "given",
    ["留置", " 留 置 ", "留置。", "留置措施", "ＬＩＵＺＨＩ", "liu zhi!"],
)
def test_fill_normalisation(given):
    key = _key("fill_blank", [["留置", "留置措施", "liuzhi"]], options="")
    assert check_answer([given], key).is_correct


def test_fill_partial_and_wrong():
    key = _key("fill_blank", [["留置"], ["十日"]], options="")
    assert check_answer(["留置", "十日"], key).marks == 10
    assert check_answer(["留置", "五日"], key).marks == 5
    assert check_answer(["", ""], key).status == "blank"
    assert check_answer(["拘留", "五日"], key).status == "wrong"
    assert normalize_fill("（ＡＢ）　c") == "abc"


@pytest.mark.parametrize(
    "type_,bad",
    [
        ("single", "E"),
        ("single", 1),
        ("multiple", "A"),
        ("multiple", ["A", "A"]),
        ("true_false", "yes"),
        ("fill_blank", ["a", "b"]),
        ("fill_blank", [1]),
    ],
)
def test_malformed_responses_are_rejected(type_, bad):
    key = _key(type_, "A" if type_ == "single" else ["A"] if type_ != "fill_blank" else [["x"]])
    with pytest.raises(InvalidInput):
        validate_response(bad, key)
