"""The management API's OpenAPI document: valid OpenAPI 3.1, exactly the blueprint's routes,
and true of the running IdP under a property-based run (schemathesis).

The fuzz run serves the test database with ``idp serve`` (``live_server``), takes a real
access token through the code flow, and for every operation of the document draws requests
(valid ones, then invalid ones) on the seed contract and on random company accounts. Every
answer must be no 5xx, a status the document lists for the operation, of its content type,
with its headers, and a body its schema accepts. Bounded: ``FUZZ_EXAMPLES`` per operation
and mode (``IDP_FUZZ_EXAMPLES`` raises it locally); derandomized, so a run is repeatable.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import requests
import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_headers_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance

from idp.directory import service
from idp.extensions import db
from idp.management.openapi import document
from idp.management.views import CATCH_ALL
from tests import factories
from tests.integration import management_support as ms

FUZZ_EXAMPLES = int(os.environ.get("IDP_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_document_is_valid_openapi_3_1(app: Flask) -> None:
    with app.test_request_context():
        doc = document()
    validate(doc)  # raises on any error (OpenAPI 3.1 meta-schema and references)
    assert doc["openapi"] == "3.1.0"
    served = app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == doc


def test_the_document_lists_exactly_the_blueprints_routes(app: Flask) -> None:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("management.") or rule.endpoint in CATCH_ALL:
            continue  # the catch-all only answers 404/405 in the API's shape
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes |= {(path, method.lower()) for method in rule.methods or () if method not in {"HEAD", "OPTIONS"}}
    with app.test_request_context():
        documented = {(path, method) for path, item in document()["paths"].items() for method in item}
    assert documented == routes


def _seed(app: Flask) -> factories.Person:
    """The seed guides' contracts: a Flexible Engine one with users, a console group and a
    console user, and a Flexible Computing Advanced one."""
    with app.app_context():
        paul = factories.contract_with_referent()
        service.add_console_group(ms.FE, "network-ops")
        db.session.commit()
    ms.person(app, ms.FE, "pierre.dupont", {"users": "visitor"})
    ms.person(app, ms.FE, "sophie.dupont", {}, ["guest", "network-ops"])
    ms.person(app, ms.FE, "marc.dupont", {"support": "manager"})
    ms.fca_contract(app)
    return paul


_NEW = {
    "civility": "madame",
    "last_name": "Dupont",
    "first_name": "Julie",
    "login": "julie.dupont",
    "email": "julie.dupont@example.test",
    "landline": "0101010101",
    "language": "fr",
}
_UNSET = None
WALKTHROUGH: list[tuple[str, dict[str, str], Any, int]] = [
    (
        "/contracts/{contract_id}/users POST",
        {},
        {**_NEW, "roles": {"services": "manager"}, "console_roles": ["guest"]},
        201,
    ),
    (
        "/contracts/{contract_id}/users POST",
        {},
        {**_NEW, "login": "other.login", "email": "anne.referente@example.test"},
        202,
    ),
    (
        "/contracts/{contract_id}/users POST",
        {},
        {**_NEW, "login": "paul.again", "email": "paul.dupont@example.test"},
        409,
    ),
    (
        "/contracts/{contract_id}/console-users POST",
        {},
        {**_NEW, "login": "anna.dupont", "email": "anna@example.test", "console_roles": ["power_user", "network-ops"]},
        201,
    ),
    ("/contracts/{contract_id}/users/{login} GET", {"login": "julie.dupont"}, _UNSET, 200),
    (
        "/contracts/{contract_id}/users/{login}/roles PUT",
        {"login": "julie.dupont"},
        {"roles": {"users": "visitor"}, "console_roles": []},
        200,
    ),
    ("/contracts/{contract_id}/users/{login}/roles PUT", {"login": "paul.dupont"}, {"roles": {"users": "none"}}, 409),
    ("/contracts/{contract_id}/console-users/{login} GET", {"login": "anna.dupont"}, _UNSET, 200),
    (
        "/contracts/{contract_id}/console-users/{login}/roles PUT",
        {"login": "anna.dupont"},
        {"console_roles": ["guest"]},
        200,
    ),
    ("/contracts/{contract_id}/console-groups POST", {}, {"name": "ops-team"}, 201),
    ("/contracts/{contract_id}/console-groups/{name} DELETE", {"name": "ops-team"}, _UNSET, 204),
    ("/contracts/{contract_id}/users/{login} DELETE", {"login": "julie.dupont"}, _UNSET, 204),
    ("/contracts/{contract_id}/users/{login} DELETE", {"login": "paul.dupont"}, _UNSET, 409),
]


def _paths(method: str, path: str) -> list[dict[str, str] | None]:
    """Path parameters to hold still: random ones (mostly 404s), the seed contract, and the
    seed contract with one of its users or groups (a real one reaches the deepest code)."""
    if "{contract_id}" not in path:
        return [None]
    held: list[dict[str, str] | None] = [None, {"contract_id": ms.FE}]
    if "{login}" in path:
        login = "marc.dupont" if method == "DELETE" else "sophie.dupont" if "console-users" in path else "pierre.dupont"
        held.append({"contract_id": ms.FE, "login": login})
    if "{name}" in path:
        held.append({"contract_id": ms.FE, "name": "network-ops"})
    return held


def test_a_property_based_run_finds_no_5xx_and_nothing_the_document_does_not_say(app: Flask, live_server: str) -> None:
    paul = _seed(app)
    portal = ms.register_portal(app)
    token = ms.live_token(live_server, paul, portal)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "fr"}
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json")
    session = requests.Session()
    count = {"requests": 0}
    started = time.monotonic()

    def run(operation: Any, mode: GenerationMode, path: dict[str, str] | None) -> None:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path)

        @given(case=strategy)
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call(base_url=live_server, session=session, headers=headers, timeout=15)
            count["requests"] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        check()

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    by_label = {
        op.label.split(" ", 1)[1].removeprefix("/api/v1") + " " + op.label.split(" ")[0]: op for op in operations
    }
    for label, path, body, expected in WALKTHROUGH:  # the guides' walk-through first: every success answer
        case = by_label[label].Case(
            path_parameters={"contract_id": ms.FE, **path},
            **({} if body is None else {"body": body}),
            headers={"Idempotency-Key": f"walk-{count['requests']}"} if label.endswith("POST") else None,
        )
        response = case.call(base_url=live_server, session=session, headers=headers, timeout=15)
        count["requests"] += 1
        assert response.status_code == expected, (label, response.text[:300])
        case.validate_response(response, checks=CHECKS, headers=headers)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path in _paths(operation.method.upper(), operation.path):
                run(operation, mode, path)
    elapsed = time.monotonic() - started
    print(f"management API fuzz: {count['requests']} requests in {elapsed:.1f} s")
    assert count["requests"] >= len(operations) * 2
    # The run changed the seed contract, but never its referent or its last users manager.
    api = ms.Api(app.test_client(), ms.token(app, paul, portal))
    users = api.get(f"/contracts/{ms.FE}/users?q=paul.dupont").get_json()["items"]
    assert [(u["login"], u["referent"]) for u in users] == [("paul.dupont", True)]
    assert api.get(f"/contracts/{ms.FE}/users/paul.dupont").get_json()["roles"]["users"] == "manager"
