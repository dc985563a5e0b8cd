"""Security primitives: password hashing and policy, throttling, headers."""
