"""Signing up on this server, through the API or the sign-up page, as the registration mode allows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import Settings
from starling.domain.errors import Forbidden
from starling.models import AccessToken, Account, Application, User
from starling.repositories.instance import registrations_mode
from starling.services.accounts.errors import Problems
from starling.services.accounts.register_account import (
    NewAccount,
    check_new_account,
    create_account,
    hash_new_password,
)
from starling.services.oauth.issue_token import issue_token

MAX_REASON = 1000


@dataclass
class SignUp:
    username: str
    email: str
    password: str
    agreement: bool
    locale: str = "en"
    reason: str | None = None
    # Only the sign-up page asks for the password twice; None means "not asked".
    password_confirmation: str | None = None


@dataclass
class SignedUp:
    account: Account
    user: User
    pending: bool


@dataclass
class SignedUpWithToken(SignedUp):
    token: AccessToken
    raw_token: str


async def sign_up(session: AsyncSession, settings: Settings, data: SignUp) -> SignedUp:
    """Closed: 403. Approval: the account is made but waits for a moderator. Open: usable at once."""
    password_hash = await hash_new_password(data.password)  # before the first statement: see its docstring
    mode = await registrations_mode(session, settings)
    if mode == "closed":
        raise Forbidden("Registrations are closed")
    reason = (data.reason or "").strip() or None
    problems = Problems()
    new = NewAccount(username=data.username, email=data.email, password=data.password,
                     locale=(data.locale or "en").strip() or "en", reason=reason, approved=mode == "open")
    await check_new_account(session, new, problems)
    if data.password_confirmation is not None and data.password_confirmation != data.password:
        problems.add("password_confirmation", "ERR_INVALID", "doesn't match Password")
    if not data.agreement:
        problems.add("agreement", "ERR_ACCEPTED", "must be accepted")
    if mode == "approval" and reason is None:
        problems.add("reason", "ERR_BLANK", "can't be blank")
    elif reason is not None and len(reason) > MAX_REASON:
        problems.add("reason", "ERR_TOO_LONG", f"is too long (maximum is {MAX_REASON} characters)")
    problems.raise_if_any()
    account, user = await create_account(session, new, password_hash)
    return SignedUp(account=account, user=user, pending=not user.approved)


async def sign_up_through_app(
    session: AsyncSession, settings: Settings, application: Application | None, scopes: list[str], data: SignUp
) -> SignedUpWithToken:
    """API sign-up: the new user gets a token for the app that asked, with the app's scopes."""
    done = await sign_up(session, settings, data)
    token_scopes = application.scopes.split() if application is not None else scopes
    token, raw = await issue_token(
        session, application_id=application.id if application else None, user_id=done.user.id, scopes=token_scopes
    )
    return SignedUpWithToken(account=done.account, user=done.user, pending=done.pending, token=token, raw_token=raw)
