"""
Sharding: N workers split the contacts among themselves by a stable hash, without talking.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aelyst_async import Identifier, InvalidArgumentError, Shard, shard_of
from aelyst_async.testing import Dataset


@given(
    st.lists(st.text(min_size=1), unique=True, max_size=200),
    st.integers(min_value=1, max_value=16),
)
def test_the_shards_together_are_the_input_each_identifier_once(
    identifiers: list[str], count: int
) -> None:
    """The union of the N shards is exactly the input, each identifier in one shard only."""
    shards = [list(Shard(index, count).select(identifiers)) for index in range(count)]
    assert sorted(identifiers) == sorted(i for shard in shards for i in shard)


def test_each_shard_keeps_the_input_order() -> None:
    """Within a shard, contacts come in the order they were given."""
    identifiers = list(Dataset(contacts=100).identifiers())
    shard = list(Shard(2, 3).select(identifiers))
    assert sorted(shard, key=identifiers.index) == shard


def test_shards_are_balanced() -> None:
    """10,000 contacts over 4 shards: each within 5% of a quarter."""
    identifiers = Dataset(contacts=10_000).identifiers()
    sizes = [0] * 4
    for identifier in identifiers:
        sizes[shard_of(identifier, 4)] += 1
    assert all(2_375 <= size <= 2_625 for size in sizes), sizes


def test_the_shard_of_a_contact_is_the_same_in_every_process() -> None:
    """No per-process salt: another interpreter puts the same contacts in the same shards."""
    identifiers = [f"id:{n}" for n in range(50)]
    code = f"from aelyst_async import shard_of; print([shard_of(i, 7) for i in {identifiers!r}])"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert str([shard_of(i, 7) for i in identifiers]) == other.strip()


def test_the_shard_of_a_contact_is_pinned() -> None:
    """The rule is part of the public contract: these values never change between releases."""
    assert [1, 0, 2, 2] == [shard_of(f"id:{n}", 4) for n in (1, 2, 3, 4)]


def test_an_identifier_object_shards_like_its_text() -> None:
    """Identifier("email:a@x.io") and "email:a@x.io" are in the same shard."""
    assert shard_of("email:a@x.io", 5) == shard_of(Identifier.parse("email:a@x.io"), 5)


@pytest.mark.parametrize(
    ("text", "shard"),
    [
        pytest.param("0/1", Shard(0, 1), id="one-shard"),
        pytest.param("3/4", Shard(3, 4), id="last-of-four"),
        pytest.param(" 2 / 8 ", Shard(2, 8), id="spaces"),
    ],
)
def test_a_shard_is_read_from_k_slash_n(text: str, shard: Shard) -> None:
    """'K/N' is shard K of N, K from 0 as a Kubernetes Indexed Job numbers its pods."""
    assert shard == Shard.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("4/4", id="index-past-the-end"),
        pytest.param("0/0", id="no-shards"),
        pytest.param("-1/4", id="negative"),
        pytest.param("1", id="no-count"),
        pytest.param("a/b", id="not-numbers"),
    ],
)
def test_a_bad_shard_is_refused_naming_it(text: str) -> None:
    """A shard that is not K/N with 0 <= K < N is a clear error naming the value."""
    with pytest.raises(InvalidArgumentError, match="shard"):
        Shard.parse(text)


def test_a_bad_count_is_refused_naming_it() -> None:
    """shard_of with a count below 1 names the count."""
    with pytest.raises(InvalidArgumentError, match="not 0"):
        shard_of("id:1", 0)
