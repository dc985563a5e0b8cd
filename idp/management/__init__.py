"""The management API (SPEC §6): JSON under ``/api/v1/`` for the portal, acting for the
person signed in to it. Who may do what is ``rights``; who the caller is, ``auth``; the one
error shape, ``errors``; the contract of it all, ``openapi``."""
