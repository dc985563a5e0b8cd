"""The cloud's IAM API (SPEC §5, reference §2–§4): access keys (AK/SK), the check of
SDK-HMAC-SHA256 signed requests, and the discovery calls of the cloud's SDKs."""
