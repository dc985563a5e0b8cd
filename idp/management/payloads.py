"""What callers send, read strictly: a JSON object with known fields of the right types, and
query parameters in range. Each refusal names its field, in the caller's language.

The rules themselves (login and email patterns, phones, the roles each offer allows, console
groups) are the directory's (``directory.service``, ``directory.roles``); this module only
says which field broke them, in words the portal can show next to it. The directory checks
them again when it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from idp.directory import service
from idp.directory.models import Civility
from idp.directory.models import Contract
from idp.directory.roles import BUILTIN_CONSOLE_ROLES
from idp.directory.roles import Level
from idp.directory.roles import has_console
from idp.directory.roles import sections_for
from idp.management.errors import ApiError

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
MAX_QUERY = 100
MAX_PAGE = 1_000_000

NOT_AN_OBJECT = _l("The request body must be a JSON object.")
UNKNOWN_FIELD = _l("Unknown field: %(name)s.")
NOT_TEXT = _l("This field must be text.")
REQUIRED = _l("This field is required.")
BAD_LOGIN = _l("The login must be 8 to 64 characters among A-Z a-z 0-9 . _ - (no accents).")
BAD_EMAIL = _l("Enter a valid email address.")
BAD_NAME = _l("This field is required (100 characters at most).")
NO_PHONE = _l("Enter a landline or a mobile phone number.")
BAD_PHONE = _l("Enter a valid phone number.")
BAD_CIVILITY = _l("Choose Madame or Monsieur.")
BAD_LANGUAGE = _l("The preferred language must be fr or en.")
NOT_ROLES = _l("The roles must be an object of section: role.")
BAD_SECTION = _l("This contract has no section %(section)s.")
BAD_LEVEL = _l("The section %(section)s takes one of: %(choices)s.")
NOT_CONSOLE_LIST = _l("The console roles must be a list of role names.")
BAD_CONSOLE_ROLE = _l("Unknown console role on this contract: %(role)s.")
NO_CONSOLE = _l("This contract has no console: it takes no console roles.")
CONSOLE_REQUIRED = _l("Choose at least one console role.")
BAD_GROUP = _l(
    "A console group name is 1 to 64 characters among A-Z a-z 0-9 . _ - and is not a built-in role "
    "(admin, power_user, guest)."
)
BAD_PAGE = _l("page must be a whole number from 1.")
BAD_PER_PAGE = _l("per_page must be a whole number from 1 to 100.")
BAD_QUERY = _l("The search text is at most 100 characters.")

IDENTITY_FIELDS = ("civility", "last_name", "first_name", "login", "email", "landline", "mobile", "language")


def invalid(code: str, message: Any, field: str | None = None, **params: Any) -> ApiError:
    return ApiError(422, code, message, field=field, **params)


def body_object(allowed: tuple[str, ...]) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", NOT_AN_OBJECT)
    for name in data:
        if name not in allowed:
            raise invalid("unknown_field", UNKNOWN_FIELD, str(name)[:64], name=str(name)[:64])
    return data


def _text(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid("required", REQUIRED, name)
        return None
    if not isinstance(value, str):
        raise invalid("not_text", NOT_TEXT, name)
    return value.strip()


def identity(data: dict[str, Any]) -> service.Identity:
    """Step 1 of the add wizard (FCA §4.7.2, FE §5.9.1.2): every field marked * and one phone."""
    civility = _text(data, "civility")
    if civility not in {c.value for c in Civility}:
        raise invalid("invalid_civility", BAD_CIVILITY, "civility")
    names = {}
    for name in ("last_name", "first_name"):
        value = _text(data, name)
        if value is None or len(value) > 100:
            raise invalid("invalid_name", BAD_NAME, name)
        names[name] = value
    login = _text(data, "login") or ""
    if not service.LOGIN_RE.fullmatch(login):
        raise invalid("invalid_login", BAD_LOGIN, "login")
    email = _text(data, "email") or ""
    if len(email) > 254 or not service.EMAIL_RE.fullmatch(email):
        raise invalid("invalid_email", BAD_EMAIL, "email")
    phones = {name: _text(data, name, required=False) for name in ("landline", "mobile")}
    if not any(phones.values()):
        raise invalid("phone_required", NO_PHONE, "landline")
    for name, number in phones.items():
        if number is not None and not service.PHONE_RE.fullmatch(number):
            raise invalid("invalid_phone", BAD_PHONE, name)
    language = _text(data, "language", required=False) or "fr"
    if language not in {"fr", "en"}:
        raise invalid("invalid_language", BAD_LANGUAGE, "language")
    return service.Identity(
        login=login,
        email=email,
        first_name=names["first_name"],
        last_name=names["last_name"],
        landline=phones["landline"],
        mobile=phones["mobile"],
        civility=civility,
        language=language,
    )


def section_roles(contract: Contract, value: Any) -> dict[str, Level]:
    """Step 2: one role per section of the contract's offer, among that section's choices."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("invalid_roles", NOT_ROLES, "roles")
    offered = {s.name: s for s in sections_for(contract.offer)}
    roles: dict[str, Level] = {}
    for section, level in value.items():
        if section not in offered:
            raise invalid("invalid_section", BAD_SECTION, "roles", section=str(section)[:64])
        choices = [c.value for c in offered[section].choices]
        if level not in choices:
            raise invalid("invalid_role", BAD_LEVEL, f"roles.{section}", section=section, choices=", ".join(choices))
        roles[section] = Level(level)
    return roles


def console_choices(contract: Contract) -> list[str]:
    """The console roles a contract offers: the built-in ones and its own groups."""
    if not has_console(contract.offer):
        return []
    return [*BUILTIN_CONSOLE_ROLES, *sorted(g.name for g in contract.console_groups)]


def console_roles(contract: Contract, value: Any, *, required: bool = False) -> list[str] | None:
    """The console roles asked (cumulative), or None when the field is absent."""
    if value is None:
        if required:
            raise invalid("console_roles_required", CONSOLE_REQUIRED, "console_roles")
        return None
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise invalid("invalid_console_roles", NOT_CONSOLE_LIST, "console_roles")
    if value and not has_console(contract.offer):
        raise invalid("no_console", NO_CONSOLE, "console_roles")
    offered = set(console_choices(contract))
    for role in value:
        if role not in offered:
            raise invalid("invalid_console_role", BAD_CONSOLE_ROLE, "console_roles", role=role[:64])
    if required and not value:
        raise invalid("console_roles_required", CONSOLE_REQUIRED, "console_roles")
    return sorted(set(value))


def group_name(data: dict[str, Any]) -> str:
    name = _text(data, "name") or ""
    if not service.GROUP_RE.fullmatch(name) or name in BUILTIN_CONSOLE_ROLES:
        raise invalid("invalid_group_name", BAD_GROUP, "name")
    return name


@dataclass(frozen=True)
class Page:
    q: str
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _whole(name: str, default: int, low: int, high: int, message: Any) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 7 or not low <= int(raw) <= high:
        raise ApiError(400, "invalid_parameter", message, field=name)
    return int(raw)


def page() -> Page:
    """``q``, ``page`` and ``per_page`` of a list."""
    q = request.args.get("q", "").strip()
    if len(q) > MAX_QUERY:
        raise ApiError(400, "invalid_parameter", BAD_QUERY, field="q")
    return Page(
        q=q,
        page=_whole("page", 1, 1, MAX_PAGE, BAD_PAGE),
        per_page=_whole("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, BAD_PER_PAGE),
    )
