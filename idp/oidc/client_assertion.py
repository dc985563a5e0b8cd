"""``private_key_jwt`` client authentication (RFC 7523 §2.2, OIDC Core §9).

authlib verifies the signature against the client's registered JWKS and checks ``iss`` =
``sub`` = client id, ``aud`` and ``exp``. We add what it leaves to us: the audiences we
accept (our issuer and our token endpoint), and single use of each ``jti`` until the
assertion expires, kept in the database so every process and worker agrees.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app
from flask import url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import KeySetSerialization
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from idp import clock
from idp.extensions import db
from idp.oidc.models import ClientAssertion
from idp.oidc.models import OAuth2Client
from idp.security.tokens import token_hash

# Asymmetric signatures only: private_key_jwt, never client_secret_jwt or "none".
ASSERTION_ALGS = ("RS256", "PS256", "ES256")
# An assertion living longer than this is refused: a jti must not have to be kept for long.
MAX_LIFETIME = timedelta(minutes=10)


class PrivateKeyJWT(JWTBearerClientAssertion):
    # authlib documents overriding it in a subclass; types-authlib marks it Final.
    CLIENT_AUTH_METHOD = "private_key_jwt"  # type: ignore[misc]

    def __init__(self) -> None:
        super().__init__(validate_jti=True, leeway=30)

    def get_audiences(self) -> list[str]:
        issuer = current_app.config["IDP_SETTINGS"].server.issuer
        return [issuer, issuer.rstrip("/") + url_for("oidc.token")]

    def resolve_client_public_key(self, client: OAuth2Client) -> KeySet:
        # client.jwks is what clients.create stored: a checked public key set, or None for a
        # client registered for another method, which no assertion can authenticate.
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        return KeySet.import_key_set(cast(KeySetSerialization, client.jwks))

    def process_assertion_claims(self, assertion: str, resolve_key: KeySet) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ASSERTION_ALGS))
        except JoseError as exc:
            raise InvalidClientError(description="The client assertion is not valid.") from exc
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: dict[str, Any]) -> None:
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp > (clock.now() + MAX_LIFETIME).timestamp():
            raise InvalidClientError(description="The client assertion lives too long.")
        super().verify_claims(claims)

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        """Record the jti; False if this client already used it (a replayed assertion)."""
        if not isinstance(jti, str) or not jti or len(jti) > 512:
            return False
        now = clock.now()
        client_id = str(claims["sub"])
        db.session.execute(delete(ClientAssertion).where(ClientAssertion.expires_at < now))
        expires = datetime.fromtimestamp(float(claims["exp"]), tz=UTC) + timedelta(seconds=self.leeway)
        try:
            with db.session.begin_nested():
                db.session.add(ClientAssertion(client_id=client_id, jti_hash=token_hash(jti), expires_at=expires))
        except IntegrityError:
            db.session.rollback()
            return False
        db.session.commit()
        return True
