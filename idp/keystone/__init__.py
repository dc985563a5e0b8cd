"""OpenStack Keystone v3 compatibility (SPEC §5, reference §1): API-password login, tokens
and the version documents, so that keystoneauth1 and the cloud's Terraform provider work
unchanged."""
