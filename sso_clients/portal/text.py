"""The portal's few words, in French and English (the IdP owns the real catalogs)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Espace Client Cloud", "contracts": "Vos contrats", "referent": "référent",
        "console": "Accéder à la console technique", "my_account": "Mon compte", "sign_out": "Se déconnecter",
        "sign_in": "Se connecter", "sections": "Sections", "your_rights": "Vos droits selon votre profil",
        "feature": "Fonctionnalités / Profil", "you": "Vous", "your_profile": "Votre profil sur cette section",
        "console_roles": "Rôles console", "back": "Retour à vos contrats", "forbidden": "Vous n'avez pas accès à cette section.",
        "none": "Aucun droit", "visitor": "Visiteur", "manager": "Gestionnaire", "language": "Langue",
        "console_needs": "avec un rôle sur la console",
    },
    "en": {
        "title": "Cloud Customer Area", "contracts": "Your contracts", "referent": "referent",
        "console": "Access the Technical Console", "my_account": "My account", "sign_out": "Sign out",
        "sign_in": "Sign in", "sections": "Sections", "your_rights": "Your rights according to your profile",
        "feature": "Features / Profile", "you": "You", "your_profile": "Your profile on this section",
        "console_roles": "Console roles", "back": "Back to your contracts", "forbidden": "You have no access to this section.",
        "none": "No rights", "visitor": "Visitor", "manager": "Manager", "language": "Language",
        "console_needs": "with a console role",
    },
}
LANGUAGES = tuple(TEXT)
