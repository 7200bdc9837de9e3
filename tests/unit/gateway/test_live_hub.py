"""The live hub: fan-out to a tenant's streams only, ids that order messages and name this process,
resuming from a Last-Event-ID, and reset where the id is unknown (another process's, too old, dropped
from the bounded buffer, not ASCII digits); the caps on streams, per process and per person, counting
nothing that was refused; slow streams ended at once; idle tenants forgotten; a restart (the bus came
back) ends every stream and makes every earlier id unknown."""

from __future__ import annotations

import uuid

import pytest

from gateway.live.hub import PER_PERSON, QUEUE_LIMIT, Hub, Stream, StreamsFull, TooManyOfPerson
from gateway.live.views import Concerns, LiveMessage

ACME, GLOBEX = uuid.uuid4(), uuid.uuid4()
PERSON, SOMEONE = uuid.uuid4(), uuid.uuid4()


def _messages(tenant: uuid.UUID, *numbers: int) -> list[LiveMessage]:
    return [LiveMessage("balance", {"n": n}, Concerns(tenant)) for n in numbers]


def _queued(stream: Stream) -> list[int | None]:
    """What the hub queued for a stream (None: the hub's wake-up after ending it)."""
    out: list[int | None] = []
    while not stream.queue.empty():
        entry = stream.queue.get_nowait()
        out.append(entry.message.data["n"] if entry is not None else None)
    return out


def test_messages_go_to_their_tenants_streams_only_with_ids_that_grow():
    hub = Hub(buffer_size=10, max_streams=10)
    acme, globex = hub.open(ACME, PERSON, None), hub.open(GLOBEX, PERSON, None)
    hub.publish(ACME, _messages(ACME, 1, 2))
    hub.publish(GLOBEX, _messages(GLOBEX, 3))
    assert _queued(acme.stream) == [1, 2] and _queued(globex.stream) == [3]
    ids = [e.id for e in hub._buffers[ACME].entries]
    assert all(i.startswith(hub.boot + "-") for i in ids)
    assert [int(i.rsplit("-", 1)[1]) for i in ids] == [1, 2]


def test_resuming_gives_what_came_after_the_last_id_and_nothing_of_another_tenant():
    hub = Hub(buffer_size=10, max_streams=10)
    first = hub.open(ACME, PERSON, None)
    hub.publish(ACME, _messages(ACME, 1, 2))
    hub.publish(GLOBEX, _messages(GLOBEX, 99))
    hub.publish(ACME, _messages(ACME, 3))
    seen = [e.id for e in hub._buffers[ACME].entries]
    hub.close(first.stream)
    resumed = hub.open(ACME, PERSON, seen[0])
    assert not resumed.reset and [e.message.data["n"] for e in resumed.backlog] == [2, 3]
    latest = hub.open(ACME, PERSON, seen[-1])
    assert not latest.reset and latest.backlog == []


# "²" and "\u0661" (Arabic-Indic one) are digits to `str.isdigit`; `int` refuses the first and reads the second.
@pytest.mark.parametrize("last_id", ["other-3", "garbage", "", "{boot}-999", "{boot}-x", "{boot}-" + "9" * 30,
                                     "{boot}-²", "{boot}-1²", "{boot}-\u0661", "{boot}-+1", "{boot}--1", "{boot}-1 1",
                                     "{boot}-1_0", "{boot}-"])
def test_an_unknown_last_id_means_reset(last_id: str):
    hub = Hub(buffer_size=10, max_streams=10)
    hub.open(ACME, PERSON, None)
    hub.publish(ACME, _messages(ACME, 1))
    hub.publish(ACME, _messages(ACME, 2))
    opened = hub.open(ACME, PERSON, last_id.format(boot=hub.boot))
    assert opened.reset and opened.backlog == []
    assert hub.stream_count == 2


def test_a_refused_open_counts_nothing():
    hub = Hub(buffer_size=10, max_streams=1)
    hub.open(ACME, PERSON, None)
    with pytest.raises(StreamsFull):
        hub.open(ACME, SOMEONE, f"{hub.boot}-²")
    assert hub.stream_count == 1 and hub._of_person == {PERSON: 1}


def test_an_id_older_than_the_bounded_buffer_means_reset_but_the_oldest_kept_still_resumes():
    hub = Hub(buffer_size=3, max_streams=10)
    hub.open(ACME, PERSON, None)
    hub.publish(ACME, _messages(ACME, 1, 2, 3, 4, 5))
    entries = list(hub._buffers[ACME].entries)
    assert [e.message.data["n"] for e in entries] == [3, 4, 5]
    assert hub.open(ACME, PERSON, f"{hub.boot}-1").reset  # 2 was dropped: cannot resume after 1
    after_two = hub.open(ACME, PERSON, f"{hub.boot}-2")  # everything after 2 is still here
    assert not after_two.reset and [e.message.data["n"] for e in after_two.backlog] == [3, 4, 5]


def test_a_tenant_without_streams_is_not_buffered_so_its_earlier_ids_reset():
    hub = Hub(buffer_size=10, max_streams=10)
    hub.publish(ACME, _messages(ACME, 1))  # nobody of ACME here
    assert ACME not in hub._buffers
    opened = hub.open(ACME, PERSON, f"{hub.boot}-1")
    assert not opened.reset  # nothing of ACME came after 1 that it could have missed...
    hub.publish(ACME, _messages(ACME, 2))
    assert [e.message.data["n"] for e in hub.open(ACME, PERSON, f"{hub.boot}-1").backlog] == [2]
    assert hub.open(ACME, PERSON, f"{hub.boot}-0").reset  # ...but before the buffer began it cannot say


def test_idle_tenants_are_forgotten_after_the_grace_period():
    now = [0.0]
    hub = Hub(buffer_size=10, max_streams=10, idle_seconds=60, clock=lambda: now[0])
    opened = hub.open(ACME, PERSON, None)
    hub.publish(ACME, _messages(ACME, 1))
    hub.close(opened.stream)
    now[0] = 59
    hub.publish(GLOBEX, [])
    assert ACME in hub._buffers
    now[0] = 61
    hub.publish(GLOBEX, [])
    assert ACME not in hub._buffers
    hub.publish(ACME, _messages(ACME, 2))  # while nobody of ACME is here: not kept
    assert hub.open(ACME, PERSON, f"{hub.boot}-1").reset


def test_streams_are_capped_and_a_closed_one_frees_its_place():
    hub = Hub(buffer_size=10, max_streams=2)
    first = hub.open(ACME, PERSON, None)
    hub.open(GLOBEX, PERSON, None)
    with pytest.raises(StreamsFull):
        hub.open(ACME, PERSON, None)
    hub.close(first.stream)
    hub.close(first.stream)  # twice changes nothing
    assert hub.stream_count == 1
    hub.open(ACME, PERSON, None)


def test_one_person_holds_at_most_a_few_streams_and_a_closed_one_frees_its_place():
    hub = Hub(buffer_size=10, max_streams=100)
    mine = [hub.open(ACME, PERSON, None) for _ in range(PER_PERSON)]
    with pytest.raises(TooManyOfPerson):
        hub.open(GLOBEX, PERSON, None)  # wherever they come from
    assert hub.stream_count == PER_PERSON
    hub.open(ACME, SOMEONE, None)  # others are not held back
    hub.close(mine[0].stream)
    hub.close(mine[0].stream)
    hub.open(ACME, PERSON, None)
    with pytest.raises(TooManyOfPerson):
        hub.open(ACME, PERSON, None)
    for opened in mine[1:]:
        hub.close(opened.stream)
    assert hub._of_person == {PERSON: 1, SOMEONE: 1}


def test_a_stream_too_slow_to_keep_up_is_ended_the_others_carry_on():
    hub = Hub(buffer_size=10, max_streams=10)
    slow, quick = hub.open(ACME, PERSON, None), hub.open(ACME, PERSON, None)
    for n in range(QUEUE_LIMIT):
        hub.publish(ACME, _messages(ACME, n))
        quick.stream.queue.get_nowait()
    hub.publish(ACME, _messages(ACME, -1))
    assert slow.stream.ended == "slow" and quick.stream.ended is None
    assert _queued(slow.stream) == [None]  # ended at once: nothing of its backlog is written first
    assert quick.stream.queue.get_nowait().message.data["n"] == -1  # type: ignore[union-attr]


def test_end_all_wakes_every_stream():
    hub = Hub(buffer_size=10, max_streams=10)
    opened = hub.open(ACME, PERSON, None)
    hub.end_all("shutdown")
    assert opened.stream.ended == "shutdown" and opened.stream.queue.get_nowait() is None


def test_ending_drops_what_was_queued():
    hub = Hub(buffer_size=10, max_streams=10)
    opened = hub.open(ACME, PERSON, None)
    hub.publish(ACME, _messages(ACME, 1, 2, 3))
    opened.stream.end("shutdown")
    opened.stream.end("again")  # the first reason stays, one wake-up only
    assert opened.stream.ended == "shutdown" and _queued(opened.stream) == [None]


def test_a_restart_ends_every_stream_and_no_earlier_id_resumes():
    hub = Hub(buffer_size=10, max_streams=10)
    acme, globex = hub.open(ACME, PERSON, None), hub.open(GLOBEX, SOMEONE, None)
    hub.publish(ACME, _messages(ACME, 1, 2))
    before, boot = [e.id for e in hub._buffers[ACME].entries], hub.boot
    hub.restart("bus-reconnected")
    assert hub.boot != boot
    assert acme.stream.ended == globex.stream.ended == "bus-reconnected"
    assert _queued(acme.stream) == [None] and _queued(globex.stream) == [None]
    hub.close(acme.stream)
    hub.close(globex.stream)
    for last_id in before:
        resumed = hub.open(ACME, PERSON, last_id)
        assert resumed.reset and resumed.backlog == []
    assert hub.open(ACME, PERSON, f"{hub.boot}-1").reset  # the new boot with a number from before it: unknown
    hub.publish(ACME, _messages(ACME, 3, 4))
    third, fourth = [e.id for e in hub._buffers[ACME].entries]
    assert third.startswith(hub.boot + "-")
    resumed = hub.open(ACME, PERSON, third)
    assert not resumed.reset and [e.id for e in resumed.backlog] == [fourth]
