"""The management API's OpenAPI 3.1 document, served at ``GET /api/v1/openapi.json``.

Built from the same data as the code where there is such data (the sections and their
choices, the login, email, phone and group patterns, the page bounds), so the two cannot
drift; a test checks that its paths and methods are exactly the blueprint's routes, another
validates it, and a property-based run (schemathesis) checks the running IdP against it.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from idp.directory import service
from idp.directory.roles import BUILTIN_CONSOLE_ROLES
from idp.directory.roles import SECTIONS
from idp.directory.roles import Level
from idp.directory.roles import Offer
from idp.management import payloads
from idp.management.rights import Action
from idp.management.views import bp
from idp.management.views import ok
from idp.security.canonical import COMPANY_ACCOUNT_RE

JSON = "application/json"
# No control characters (the input guard refuses NUL anywhere), something besides spaces.
TEXT = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"
NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}
LEVELS = [level.value for level in Level]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], required: list[str] | None = None, *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required or list(properties)}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _pattern(regex: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{regex}$", **extra}


def _roles_in() -> dict[str, Any]:
    """What a caller may send for each section (a contract offers some of them: others 422)."""
    return {
        "type": "object",
        "description": "section: role. Sections the contract's offer lacks are refused (422 invalid_section).",
        "properties": {name: {"enum": [c.value for c in s.choices]} for name, s in SECTIONS.items()},
        "additionalProperties": False,
    }


def _schemas() -> dict[str, Any]:
    name = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": TEXT}
    phone = _pattern(r"\+?[0-9.()-][0-9 .()-]{4,22}[0-9.()-]")
    group = _pattern(service.GROUP_RE.pattern)
    # The built-in roles, or one of the contract's groups (another name: 422 invalid_console_role).
    console_role = {"anyOf": [{"enum": list(BUILTIN_CONSOLE_ROLES)}, group]}
    identity = {
        "civility": {"enum": ["madame", "monsieur"]},
        "last_name": name,
        "first_name": name,
        "login": _pattern(service.LOGIN_RE.pattern, example="julie.dupont"),
        "email": {"type": "string", "maxLength": 254, "pattern": f"^{service.EMAIL_RE.pattern}$"},
        "landline": phone,
        "mobile": phone,
        "language": {"enum": ["fr", "en"]},
    }
    one_phone = [{"required": ["landline"]}, {"required": ["mobile"]}]
    roles_out = {"type": "object", "additionalProperties": {"enum": LEVELS}}
    console_out = {"type": ["array", "null"], "items": {"type": "string"}}
    user_row = {
        "login": {"type": "string"},
        "civility": NULLABLE_TEXT,
        "last_name": {"type": "string"},
        "first_name": {"type": "string"},
        "email": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "referent": {"type": "boolean"},
        "console_user": {"type": "boolean"},
    }
    page = {"page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"}}
    return {
        "Error": _obj(
            {
                "error": _obj(
                    {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
                    ["code", "message"],
                )
            }
        ),
        "ContractSummary": _obj(
            {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "offer": {"enum": [o.value for o in Offer]},
                "company_name": {"type": "string"},
                "platform_id": NULLABLE_TEXT,
                "referent": {"type": "boolean"},
                "roles": roles_out,
                "console_roles": console_out,
            }
        ),
        "ContractDetail": _obj(
            {
                "contract": _obj(
                    {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "offer": {"enum": [o.value for o in Offer]},
                        "platform_id": NULLABLE_TEXT,
                        "created_at": {"type": "string", "format": "date-time"},
                        "console": {"type": "boolean"},
                    }
                ),
                "me": _obj({"referent": {"type": "boolean"}, "roles": roles_out, "console_roles": console_out}),
                "allowed": {"type": "array", "items": {"enum": [a.value for a in Action]}},
                "role_choices": _obj(
                    {
                        "sections": {
                            "type": "array",
                            "items": _obj(
                                {
                                    "name": {"enum": list(SECTIONS)},
                                    "choices": {"type": "array", "items": {"enum": LEVELS}},
                                    "default": {"enum": LEVELS},
                                }
                            ),
                        },
                        "console_roles": console_out,
                    }
                ),
                "company": _obj(
                    {
                        "company_name": {"type": "string"},
                        "siret": NULLABLE_TEXT,
                        "referent_name": {"type": "string"},
                        "referent_email": {"type": "string"},
                    }
                ),
            },
            ["contract", "me", "allowed", "role_choices"],
        ),
        "UserRow": _obj(user_row),
        "UserDetail": _obj(
            {
                **user_row,
                "landline": NULLABLE_TEXT,
                "mobile": NULLABLE_TEXT,
                "language": {"enum": ["fr", "en"]},
                "roles": roles_out,
                "console_roles": console_out,
            }
        ),
        "ConsoleUser": _obj({**user_row, "console_roles": {"type": "array", "items": {"type": "string"}}}),
        "UserPage": _obj({"items": {"type": "array", "items": ref("UserRow")}, **page}),
        "ConsoleUserPage": _obj({"items": {"type": "array", "items": ref("ConsoleUser")}, **page}),
        "NewUser": {
            **_obj({**identity, "roles": _roles_in(), "console_roles": {"type": "array", "items": console_role}}),
            "required": ["civility", "last_name", "first_name", "login", "email"],
            "anyOf": one_phone,
        },
        "NewConsoleUser": {
            **_obj({**identity, "console_roles": {"type": "array", "items": console_role, "minItems": 1}}),
            "required": ["civility", "last_name", "first_name", "login", "email", "console_roles"],
            "anyOf": one_phone,
        },
        "AddResult": {
            "oneOf": [
                _obj({"status": {"const": "added"}, "user": ref("UserDetail"), "message": {"type": "string"}}),
                _obj(
                    {
                        "status": {"const": "invitation_sent"},
                        "email": {"type": "string"},
                        "message": {"type": "string"},
                    }
                ),
            ]
        },
        "RolesChange": _obj({"roles": _roles_in(), "console_roles": {"type": "array", "items": console_role}}, []),
        "ConsoleRolesChange": _obj({"console_roles": {"type": "array", "items": console_role, "minItems": 1}}),
        "Group": _obj({"name": {"type": "string"}}),
        "NewGroup": _obj({"name": {**group, "not": {"enum": list(BUILTIN_CONSOLE_ROLES)}}}),
        "Groups": _obj(
            {
                "builtin_roles": {"type": "array", "items": {"type": "string"}},
                "items": {"type": "array", "items": ref("Group")},
            }
        ),
    }


ERRORS = {
    400: "Malformed request: not a JSON object, a bad query parameter, a missing Idempotency-Key",
    401: "No access token, or not a live one for this API (WWW-Authenticate: Bearer)",
    403: "insufficient_scope, or forbidden: the rights tables do not mark the caller's profile",
    404: "contract_not_found (not one of the caller's), user_not_found, group_not_found, no_console",
    409: "referent_protected, last_users_manager, already_member, login_taken, group_exists, idempotency_in_progress",
    413: "The request is too large",
    422: "A field is invalid (its name in error.field), idempotency_key_reused",
}


def _error(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": ERRORS[status], "content": {JSON: {"schema": ref("Error")}}}
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
    return answer


def _param(name: str, where: str, schema: dict[str, Any], required: bool = True, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, **extra}


CONTRACT = _param(
    "contract_id", "path", _pattern(COMPANY_ACCOUNT_RE.pattern), example="OCB0000124", description="company account"
)
LOGIN = _param("login", "path", _pattern(service.LOGIN_RE.pattern), example="julie.dupont")
GROUP = _param("name", "path", _pattern(service.GROUP_RE.pattern), example="network-ops")
PAGING = [
    _param("q", "query", {"type": "string", "maxLength": payloads.MAX_QUERY}, False, description="login, names, email"),
    _param("page", "query", {"type": "integer", "minimum": 1, "maximum": payloads.MAX_PAGE}, False),
    _param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": payloads.MAX_PER_PAGE}, False),
]
KEY = _param(
    "Idempotency-Key",
    "header",
    {"type": "string", "pattern": r"^[!-~]{1,255}$"},
    description="The same key and body within 24 h replays the first answer (Idempotent-Replayed: true).",
)


def _op(
    summary: str,
    ok_status: int,
    ok_schema: str | None,
    errors: tuple[int, ...],
    params: list[dict[str, Any]],
    body: str | None = None,
    extra: dict[int, Any] | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {str(ok_status): {"description": "OK"}}
    if ok_schema:
        responses[str(ok_status)]["content"] = {JSON: {"schema": ref(ok_schema)}}
    for status, answer in (extra or {}).items():
        responses[str(status)] = answer
    for status in (400, 401, 403, 404, 413, *errors):
        responses[str(status)] = _error(status)
    operation: dict[str, Any] = {"summary": summary, "parameters": params, "responses": responses}
    if body:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(body)}}}
    return operation


def document() -> dict[str, Any]:
    v = "/api/v1/contracts"
    users, console = f"{v}/{{contract_id}}/users", f"{v}/{{contract_id}}/console-users"
    groups = f"{v}/{{contract_id}}/console-groups"
    invited = {202: {"description": "Invitation sent", "content": {JSON: {"schema": ref("AddResult")}}}}
    paths: dict[str, Any] = {
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {"type": "object"}}}}},
            }
        },
        v: {"get": _op("My contracts", 200, "ContractList", (), [])},
        f"{v}/{{contract_id}}": {
            "get": _op("One contract (Company block for contract managers)", 200, "ContractDetail", (), [CONTRACT])
        },
        users: {
            "get": _op("Users of the contract", 200, "UserPage", (), [CONTRACT, *PAGING]),
            "post": _op("Add a user", 201, "AddResult", (409, 422), [CONTRACT, KEY], "NewUser", invited),
        },
        f"{users}/{{login}}": {
            "get": _op("One user with their roles", 200, "UserDetail", (), [CONTRACT, LOGIN]),
            "delete": _op("Remove a user from the contract", 204, None, (409,), [CONTRACT, LOGIN]),
        },
        f"{users}/{{login}}/roles": {
            "put": _op("Change a user's roles", 200, "UserDetail", (409, 422), [CONTRACT, LOGIN], "RolesChange")
        },
        console: {
            "get": _op("Console users", 200, "ConsoleUserPage", (), [CONTRACT, *PAGING]),
            "post": _op("Add a console user", 201, "AddResult", (409, 422), [CONTRACT, KEY], "NewConsoleUser", invited),
        },
        f"{console}/{{login}}": {"get": _op("One console user", 200, "ConsoleUser", (), [CONTRACT, LOGIN])},
        f"{console}/{{login}}/roles": {
            "put": _op("Change console roles", 200, "ConsoleUser", (409, 422), [CONTRACT, LOGIN], "ConsoleRolesChange")
        },
        groups: {
            "get": _op("Console groups", 200, "Groups", (), [CONTRACT]),
            "post": _op("Create a console group", 201, "Group", (409, 422), [CONTRACT, KEY], "NewGroup"),
        },
        f"{groups}/{{name}}": {"delete": _op("Delete a console group", 204, None, (409,), [CONTRACT, GROUP])},
    }
    schemas = _schemas()
    schemas["ContractList"] = _obj({"items": {"type": "array", "items": ref("ContractSummary")}})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cloud Customer Area — management API",
            "version": "1",
            "description": "Contracts, their users, console users and groups, for the person signed in to the "
            "portal. Bearer access token with the `management` scope, issued to a client registered for this "
            'API. Errors: {"error": {"code", "message", "field"?}} in the caller\'s language.',
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    return ok(document())
