"""
Sharded exports: N exports of one input, one per shard, each with its own checkpoint, together
hold every message of the input exactly once, however each one is stopped and resumed.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path
from typing import Any

import orjson
import pytest

from aelyst_async import AelystClient, ExportOptions, InvalidArgumentError, Shard, shard_of
from aelyst_async._export import ExportError, count_contacts, default_checkpoint_path, run_export
from aelyst_async.testing import Dataset

from .test_export import calling_at, truth, written

TOKEN = "shard-test-token-5e1a"
DATASET = Dataset(seed=3, contacts=40, messages=(0, 130))
CONTACTS = list(DATASET.identifiers())
SHARDS = [Shard(index, 4) for index in range(4)]

pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=DATASET)


def out_of(tmp_path: Path, shard: Shard) -> Path:
    return tmp_path / f"messages-{shard.index}.jsonl"


async def test_the_shards_together_hold_each_message_once_one_of_them_interrupted(
    client: AelystClient, tmp_path: Path
) -> None:
    """4 shard exports, the second cancelled mid-run and resumed: their union is the truth."""
    task: asyncio.Task[Any] | None = None

    def cancel() -> None:
        assert task is not None
        task.cancel()

    interrupted = SHARDS[1]
    task = asyncio.create_task(
        run_export(
            client,
            calling_at(CONTACTS, 25, cancel),
            out_of(tmp_path, interrupted),
            shard=interrupted,
            concurrency=2,
            limit=20,
        )
    )
    with pytest.raises(asyncio.CancelledError):
        await task
    stopped = orjson.loads(
        default_checkpoint_path(out_of(tmp_path, interrupted), interrupted).read_bytes()
    )
    resumed = []
    for shard in SHARDS:
        summary = await run_export(
            client, CONTACTS, out_of(tmp_path, shard), shard=shard, limit=20, resume=True
        )
        resumed.append(summary.resumed)
    union = sum((written(out_of(tmp_path, shard)) for shard in SHARDS), collections.Counter())
    assert 0 < stopped["counters"]["messages"]
    assert ([False, True, False, False], truth(CONTACTS)) == (resumed, union)


async def test_a_shard_exports_only_its_own_contacts(client: AelystClient, tmp_path: Path) -> None:
    """Shard 2 of 4 writes the messages of the contacts `shard_of` puts in shard 2, no others."""
    out = tmp_path / "messages.jsonl"
    summary = await run_export(client, CONTACTS, out, shard="2/4")
    mine = [contact for contact in CONTACTS if SHARDS[2].contains(contact)]
    assert (truth(mine), len(mine)) == (written(out), summary.snapshot.contacts_done)


async def test_failed_contacts_of_a_shard_keep_their_position_in_the_whole_input(
    client: AelystClient, tmp_path: Path
) -> None:
    """A failed contact's index is its position in the input, not in the shard."""
    contacts = [*CONTACTS[:10], "id:999999"]
    shard = Shard(shard_of("id:999999", 4), 4)
    summary = await run_export(client, contacts, tmp_path / "messages.jsonl", shard=shard)
    assert [(10, "id:999999")] == [(f.index, f.identifier) for f in summary.failed]


def test_each_shard_has_its_own_default_checkpoint(tmp_path: Path) -> None:
    """The default checkpoint names the shard, so that N shards never share one."""
    out = tmp_path / "messages.jsonl"
    paths = {ExportOptions(shard=shard).checkpoint_of(out) for shard in SHARDS}
    assert (4, tmp_path / "messages.jsonl.shard-1-of-4.checkpoint.json") == (
        len(paths),
        ExportOptions(shard="1/4").checkpoint_of(out),
    )


@pytest.mark.parametrize("resume", [True, False], ids=["resumed", "run-again"])
async def test_a_checkpoint_of_one_shard_does_not_resume_another(
    client: AelystClient, tmp_path: Path, resume: bool
) -> None:
    """The same checkpoint file given to another shard is refused, naming both shards."""
    out, checkpoint = tmp_path / "messages.jsonl", tmp_path / "state.json"
    await run_export(client, CONTACTS[:8], out, shard="0/2", checkpoint=checkpoint)
    with pytest.raises(ExportError, match=r"is of shard 0/2, not of shard 1/2"):
        await run_export(
            client, CONTACTS[:8], out, shard="1/2", checkpoint=checkpoint, resume=resume
        )


@pytest.mark.parametrize(
    ("value", "named"),
    [
        pytest.param("4/4", "'4/4'", id="index-past-the-last"),
        pytest.param("1", "'1'", id="no-count"),
        pytest.param("a/b", "'a/b'", id="not-numbers"),
        pytest.param(3, "shard must be a Shard.*not 3", id="an-int"),
    ],
)
def test_an_invalid_shard_is_refused_when_the_options_are_made(value: Any, named: str) -> None:
    """A shard outside 0..N-1, or not K/N, is an error naming the value."""
    with pytest.raises(InvalidArgumentError, match=named):
        ExportOptions(shard=value)


def test_a_shard_counts_only_its_contacts(tmp_path: Path) -> None:
    """The progress total of a shard is the number of its contacts in the input."""
    source = tmp_path / "contacts.txt"
    source.write_text("# contacts\n" + "".join(f"{c}\n\n" for c in CONTACTS), "utf-8")
    counts = [count_contacts(source, shard) for shard in SHARDS]
    assert ([sum(map(SHARDS[k].contains, CONTACTS)) for k in range(4)], len(CONTACTS)) == (
        counts,
        sum(counts),
    )
