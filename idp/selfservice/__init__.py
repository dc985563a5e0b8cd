"""Pages a person uses alone: login, logout, and (later) the self-service flows."""
