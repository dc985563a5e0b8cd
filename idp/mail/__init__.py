"""Mail (SPEC §7): a transactional outbox, templates in both languages, transports."""
