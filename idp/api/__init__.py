"""What API clients of the cloud need (SPEC §5): API passwords, Keystone v3 tokens,
access keys (AK/SK) and the verification of SDK-HMAC-SHA256 signed requests."""
