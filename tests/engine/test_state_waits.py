"""The state long poll: an answer at the next committed change, or at the deadline; never a busy loop."""

from __future__ import annotations

import asyncio
import threading

import httpx

from connector.protocol.messages import read_offer
from connector.services.state_waits import StateWaits
from tests.dsp.conftest import run, seed_offer, world  # noqa: F401  (world: the fixture)
from tests.dsp.test_negotiation_flow import _catalog
from tests.harness import drive


def test_a_waiter_learns_of_a_change_made_in_another_thread_and_others_do_not() -> None:
    waits = StateWaits()

    async def go() -> tuple[str, bool]:
        mine, other = waits.register("p1"), waits.register("p2")
        threading.Thread(target=waits.moved, args=("p1", "AGREED")).start()
        state = await asyncio.wait_for(mine, 5)
        waits.forget("p2", other)
        waits.moved("p2", "FINALIZED")  # forgotten: nobody is told, nothing fails
        await asyncio.sleep(0)
        return state, other.done()

    assert run(go()) == ("AGREED", False)


def test_the_management_long_poll_answers_when_the_negotiation_moves(world):  # type: ignore[no-untyped-def]  # noqa: F811
    provider, consumer = world["provider"], world["consumer"]
    seed_offer(provider.services)
    offer = read_offer({"offer": dict(_catalog(world).json()["dataset"][0]["hasPolicy"][0], target="asset-1")})
    neg = consumer.services.negotiations.request(counterparty_address=provider.dsp,
                                                 counterparty_id=provider.settings.participant_id, offer=offer)
    url = f"{consumer.base}/management/v3/contractnegotiations/{neg.id}/state"
    headers = {"X-Api-Key": "consumer-key"}

    async def go() -> tuple[str, str, str]:
        async with httpx.AsyncClient(transport=world["router"], headers=headers) as client:
            quick = (await client.get(url, params={"waitMs": 50})).json()["state"]  # nothing moves: the deadline
            waiting = asyncio.create_task(client.get(url, params={"waitMs": 10_000}))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await drive(consumer, provider)
            moved = (await asyncio.wait_for(waiting, 10)).json()["state"]
            final = (await client.get(url, params={"waitMs": 10_000})).json()["state"]  # over: at once
            return quick, moved, final

    quick, moved, final = run(go())
    assert quick == "REQUESTING"  # INITIAL, as EDC shows it: our request is not acknowledged yet
    assert moved != "REQUESTING"
    assert final == "FINALIZED"
