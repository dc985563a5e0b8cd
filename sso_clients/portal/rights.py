"""The rights tables of the seed guides (*Vos droits selon votre profil / Your rights
according to your profile*), one per portal section, as data.

Each feature names the least profile that grants it: ``visitor``, ``manager``, or
``console`` (a visitor of the section who also holds a console role on the contract).
The IdP puts the person's profile per section in the ``contracts`` claim; this module only
reads it, so what a page shows is exactly what the token says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RANK = {"none": 0, "visitor": 1, "manager": 2}


@dataclass(frozen=True)
class Feature:
    fr: str
    en: str
    needs: str  # visitor | manager | console


@dataclass(frozen=True)
class Section:
    name: str
    fr: str
    en: str
    levels: tuple[str, ...]  # the profiles this section offers, as in the guides' columns
    features: tuple[Feature, ...]


SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        Section(
            "contract",
            "Contrat",
            "Contract",
            ("visitor", "manager"),
            (
                Feature("Accéder à la section", "Go to the section", "visitor"),
                Feature("Visualiser le paragraphe « Société »", 'View paragraph "Company"', "manager"),
                Feature(
                    "Bouton « Accéder à votre espace documentaire »",
                    'Button "Access to your documentary space"',
                    "manager",
                ),
            ),
        ),
        Section(
            "dashboard",
            "Tableau de bord",
            "Dashboard",
            ("none", "visitor"),
            (
                Feature(
                    "Visualiser les rapports de performance de mon infrastructure virtuelle",
                    "View the performance reports of my virtual infrastructure",
                    "visitor",
                ),
                Feature("Bouton accéder à la console technique", "Button to access the technical console", "console"),
            ),
        ),
        Section(
            "orders",
            "Commandes",
            "Orders",
            ("none", "visitor"),
            (Feature("Accéder à la section (lecture seule)", "Go to the section (read only)", "visitor"),),
        ),
        Section(
            "subscriptions",
            "Abonnements",
            "Subscriptions",
            ("none", "visitor", "manager"),
            (Feature("Accéder à la section", "Go to the section", "visitor"),),
        ),
        Section(
            "services",
            "Services",
            "Services",
            ("none", "visitor", "manager"),
            (
                Feature("Visualiser le catalogue de services", "View the catalog of services", "visitor"),
                Feature("Faire une recherche dans le catalogue", "Search the catalog", "visitor"),
                Feature("Visualiser le détail d'un service", "View details of a service", "visitor"),
                Feature("Commander un service", "Order a service", "manager"),
                Feature("Bouton gérer vos services", "Manage your services button", "visitor"),
            ),
        ),
        Section(
            "invoices",
            "Factures",
            "Invoices",
            ("none", "visitor", "manager"),
            (
                Feature(
                    "Visualiser les informations de contact du service Accueil Factures",
                    "View the contact details of the invoice desk",
                    "visitor",
                ),
                Feature("Visualiser les factures et leurs montants", "View invoices and their amounts", "manager"),
                Feature(
                    "Visualiser les rapports de consommation et la pré-facturation",
                    "View usage reports and pre-invoicing",
                    "manager",
                ),
            ),
        ),
        Section(
            "support",
            "Support",
            "Support",
            ("none", "visitor", "manager"),
            (
                Feature(
                    "Visualiser les informations de contact du Centre Support Client",
                    "View the contact details of the Customer Support Centre",
                    "visitor",
                ),
                Feature("Bouton ouvrir un ticket incident", "Button to open an incident ticket", "visitor"),
            ),
        ),
        Section(
            "users",
            "Utilisateurs",
            "Users",
            ("none", "visitor", "manager"),
            (
                Feature("Visualiser les informations des utilisateurs", "View user information", "visitor"),
                Feature("Rechercher un utilisateur", "Search for a user", "visitor"),
                Feature("Ajouter un nouvel utilisateur", "Add a new user", "manager"),
                Feature("Modifier les rôles d'un utilisateur", "Modify a user's roles", "manager"),
                Feature(
                    "Supprimer un utilisateur (jamais le référent)", "Delete a user (never the referent)", "manager"
                ),
            ),
        ),
    )
}


def level_grants(level: str, needs: str, console_roles: list[str]) -> bool:
    """Does this profile (and these console roles) grant a feature that ``needs`` this?"""
    if needs == "console":
        return RANK.get(level, 0) >= RANK["visitor"] and bool(console_roles)
    return RANK.get(level, 0) >= RANK[needs]


def visible_sections(contract: dict[str, Any]) -> list[Section]:
    """The sections this contract's profile lets the person open (at least visitor)."""
    roles = contract.get("roles") or {}
    return [s for name, s in SECTIONS.items() if RANK.get(roles.get(name, "none"), 0) >= RANK["visitor"]]
