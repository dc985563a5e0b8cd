"""Who a request to the IAM APIs comes from: a Keystone token, or an SDK-HMAC-SHA256
signature made with one of the caller's access keys."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request

from idp.directory.console_users import ConsoleUser
from idp.iam import verification
from idp.keystone import tokens
from idp.keystone.errors import ApiError
from idp.keystone.models import ApiToken

# Methods of tokens that may manage credentials; others (minted from an access key) may not.
PASSWORD = "password"  # noqa: S105 - the name of an authentication method, not a secret


@dataclass(frozen=True)
class Caller:
    """Who called an IAM API, and how: a password token may manage credentials."""

    user: ConsoleUser
    token: ApiToken | None

    @property
    def may_manage_credentials(self) -> bool:
        return self.token is not None and PASSWORD in self.token.methods


def caller(request: Request) -> Caller:
    """The console user behind ``X-Auth-Token`` or an SDK-HMAC-SHA256 signature."""
    if request.headers.get("Authorization", "").startswith("SDK-"):
        return Caller(verification.verify_flask_request(request).console_user, None)
    token = tokens.find(request.headers.get("X-Auth-Token"))
    if token is None:
        raise ApiError(401, "The request you have made requires authentication.", "IAM.0001")
    return Caller(token.console_user, token)
