from __future__ import annotations

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.tokens import hash_token
from starling.models import AccessToken, User
from starling.repositories.oauth import find_code
from starling.services.accounts.register_account import NewAccount, register_account
from starling.services.oauth.authorize import AuthorizationParams, check_authorization_request, decide_authorization
from starling.services.oauth.create_application import NewApplication, create_application
from starling.services.oauth.errors import OAuthError
from starling.services.oauth.grant_token import TokenRequest, grant_token
from starling.services.oauth.revoke_token import revoke_token

CB = "https://app.example/cb"


async def setup(container: Container) -> tuple[str, str, User]:
    async with unit_of_work(container.sessions) as session:
        app = await create_application(
            session, NewApplication(name="App", redirect_uris=CB, scopes="read write:statuses")
        )
        _, user = await register_account(
            session, NewAccount(username="alice", email="alice@example.com", password="password123")
        )
        return app.client_id, app.client_secret, user


async def test_code_flow_stores_only_a_hash(container: Container) -> None:
    client_id, secret, user = await setup(container)
    verifier = "v" * 50
    params = AuthorizationParams(response_type="code", client_id=client_id, redirect_uri=CB,
                                 scope="read:accounts write:statuses", state="s",
                                 code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
    async with unit_of_work(container.sessions) as session:
        request = await check_authorization_request(session, params)
        assert request.scopes == ["read:accounts", "write:statuses"]
        outcome = await decide_authorization(session, params, user, approved=True)
    assert outcome.redirect_uri == CB and outcome.state == "s"
    async with unit_of_work(container.sessions) as session:
        code = await find_code(session, outcome.code)
        assert code is not None and code.code == hash_token(outcome.code) != outcome.code
        token, raw = await grant_token(session, TokenRequest(
            grant_type="authorization_code", client_id=client_id, client_secret=secret, code=outcome.code,
            redirect_uri=CB, code_verifier=verifier))
        assert token.user_id == user.id
        assert token.scopes == "read:accounts write:statuses"
        assert token.token_hash == hash_token(raw)


async def test_scope_beyond_the_app_is_refused(container: Container) -> None:
    client_id, _, user = await setup(container)
    params = AuthorizationParams(response_type="code", client_id=client_id, redirect_uri=CB, scope="write")
    async with unit_of_work(container.sessions) as session:
        with pytest.raises(OAuthError) as info:
            await decide_authorization(session, params, user, approved=True)
    assert info.value.error == "invalid_scope"
    assert info.value.redirect_uri == CB


async def test_unknown_redirect_uri_is_never_a_redirect_target(container: Container) -> None:
    client_id, _, _ = await setup(container)
    params = AuthorizationParams(response_type="code", client_id=client_id, redirect_uri="https://evil.example/")
    async with unit_of_work(container.sessions) as session:
        with pytest.raises(OAuthError) as info:
            await check_authorization_request(session, params)
    assert info.value.redirect_uri is None


async def test_single_registered_uri_is_the_default(container: Container) -> None:
    client_id, _, _ = await setup(container)
    async with unit_of_work(container.sessions) as session:
        request = await check_authorization_request(
            session, AuthorizationParams(response_type="code", client_id=client_id)
        )
    assert request.redirect_uri == CB
    assert request.scopes == ["read"]


async def test_client_credentials_and_revocation(container: Container) -> None:
    client_id, secret, _ = await setup(container)
    async with unit_of_work(container.sessions) as session:
        token, raw = await grant_token(
            session, TokenRequest(grant_type="client_credentials", client_id=client_id, client_secret=secret)
        )
        assert token.user_id is None and token.scopes == "read"
    async with unit_of_work(container.sessions) as session:
        await revoke_token(session, client_id, secret, raw)
    async with unit_of_work(container.sessions) as session:
        stored = await session.get(AccessToken, token.id)
        assert stored is not None and stored.revoked_at is not None


async def test_wrong_secret_is_invalid_client(container: Container) -> None:
    client_id, _, _ = await setup(container)
    async with unit_of_work(container.sessions) as session:
        with pytest.raises(OAuthError) as info:
            await grant_token(session, TokenRequest(grant_type="client_credentials", client_id=client_id,
                                                    client_secret="nope"))
    assert info.value.error == "invalid_client" and info.value.status_code == 401
