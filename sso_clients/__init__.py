"""The two relying applications that trust the IdP: the portal and the console."""
