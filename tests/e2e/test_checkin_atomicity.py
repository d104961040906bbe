"""A round and its timers are written together: a failure leaves neither behind."""

from __future__ import annotations

import pytest

from bot.services import checkins as checkins_service
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import jobs as jobs_repo
from tests.e2e.conftest import World


async def test_a_round_whose_close_timer_cannot_be_stored_is_not_left_open(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await world.facilitator.run(
        "/facilitate circle create", name="Atomic", channel=world.channel
    )
    assert "Created" in created.content
    services = world.bot.resources.services
    circle = await services.circles.resolve(world.guild.id, world.channel.id, "Atomic")
    real_upsert = jobs_repo.upsert

    async def failing_upsert(tx, job):  # type: ignore[no-untyped-def]
        if job.kind == checkins_service.CLOSE:
            raise OSError("disk full")
        await real_upsert(tx, job)

    monkeypatch.setattr(jobs_repo, "upsert", failing_upsert)
    posted_before = len(world.channel.messages)
    with pytest.raises(OSError):
        await services.checkins.open_now(circle)
    monkeypatch.undo()

    async with world.bot.resources.db.read() as tx:
        assert await checkins_repo.open_round_of(tx, circle.id) is None
        stored = [job.job_id for job in await jobs_repo.all_jobs(tx)]
    assert not any(job_id.startswith(("checkin-close:", "checkin-remind:")) for job_id in stored)
    assert len(world.channel.messages) == posted_before  # nothing announced either

    round_ = (await services.checkins.open_now(circle)).round  # and the circle is not stuck
    async with world.bot.resources.db.read() as tx:
        assert await jobs_repo.get(tx, f"checkin-close:{round_.id}") is not None
        assert await jobs_repo.get(tx, f"checkin-remind:{round_.id}") is not None
