"""The directory: accounts, contracts and memberships (SPEC §2)."""
