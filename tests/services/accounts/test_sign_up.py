from __future__ import annotations

import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import Forbidden, Unauthorized
from starling.domain.passwords import verify_password
from starling.repositories.instance import put_setting
from starling.services.accounts.authenticate import authenticate
from starling.services.accounts.errors import ValidationFailed
from starling.services.accounts.register_account import NewAccount, register_account
from starling.services.accounts.sign_up import SignUp, sign_up


def form(**changes: object) -> SignUp:
    data = SignUp(username="frank", email="Frank@Example.org", password="long enough", agreement=True)
    for key, value in changes.items():
        setattr(data, key, value)
    return data


async def test_open_sign_up_is_usable_at_once(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        done = await sign_up(session, container.settings, form())
        assert not done.pending and done.user.approved
        assert done.user.email == "frank@example.org"
        assert verify_password(done.user.password_hash, "long enough")
    async with unit_of_work(container.sessions) as session:
        user, account = await authenticate(session, "FRANK@example.org", "long enough")
        assert account.username == "frank" and user.id == done.user.id


async def test_approval_mode_needs_a_reason_and_leaves_the_user_pending(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        await put_setting(session, "registrations_mode", "approval")
    async with unit_of_work(container.sessions) as session:
        with pytest.raises(ValidationFailed) as info:
            await sign_up(session, container.settings, form())
        assert info.value.details == {"reason": [{"error": "ERR_BLANK", "description": "can't be blank"}]}
        done = await sign_up(session, container.settings, form(reason="  hello  "))
        assert done.pending and done.user.reason == "hello"
    async with unit_of_work(container.sessions) as session:
        with pytest.raises(Forbidden, match="pending approval"):
            await authenticate(session, "frank", "long enough")


async def test_closed_mode(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        await put_setting(session, "registrations_mode", "closed")
        with pytest.raises(Forbidden, match="Registrations are closed"):
            await sign_up(session, container.settings, form())


async def test_every_problem_is_reported(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        with pytest.raises(ValidationFailed) as info:
            await sign_up(session, container.settings, form(
                username="", email="", password="x" * 73, agreement=False, locale="!!", password_confirmation="y"))
    details = info.value.details
    assert details["username"][0]["error"] == "ERR_BLANK"
    assert details["email"][0]["error"] == "ERR_BLANK"
    assert details["password"][0]["error"] == "ERR_TOO_LONG"
    assert details["agreement"][0]["error"] == "ERR_ACCEPTED"
    assert details["locale"][0]["error"] == "ERR_INCLUSION"
    assert details["password_confirmation"][0]["error"] == "ERR_INVALID"
    assert info.value.message.startswith("Validation failed: Username can't be blank")


async def test_reserved_and_taken_names(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        await register_account(session, NewAccount(username="Grace", email="g@example.org", password="password1"))
        with pytest.raises(ValidationFailed) as info:
            await register_account(session, NewAccount(username="grace", email="G@example.org", password="password1"))
        assert info.value.details["username"][0]["error"] == "ERR_TAKEN"
        assert info.value.details["email"][0]["error"] == "ERR_TAKEN"
        with pytest.raises(ValidationFailed) as info:
            await register_account(session, NewAccount(username="admin", email="a@example.org", password="password1"))
        assert info.value.details["username"][0]["error"] == "ERR_RESERVED"


async def test_authenticate_rejects_wrong_passwords(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        await sign_up(session, container.settings, form())
    async with unit_of_work(container.sessions) as session:
        with pytest.raises(Unauthorized):
            await authenticate(session, "frank", "wrong one")
        with pytest.raises(Unauthorized):
            await authenticate(session, "nobody", "long enough")
        with pytest.raises(Unauthorized):
            await authenticate(session, "", "")
