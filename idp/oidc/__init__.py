"""The OpenID Connect provider (SPEC §4): signing keys, clients, and (next) the endpoints."""
