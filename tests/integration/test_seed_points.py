"""The guides' smaller points on the IdP's pages, French and English (issue 12 item 6): *Nous
contacter / Contact us*, *Afficher les mots de passe en clair / Show passwords* on every
password form, the instruction line of the password pages, the guides' wording, and the new
challenge behind *Charger une autre image / Load another image*."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.directory import service
from idp.directory.models import Account
from idp.extensions import db
from idp.selfservice import flows
from tests.conftest import TEST_CAPTCHA
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.factories import Person

CONTACT = "mailto:help@example.test"
SHOW = {"fr": "Afficher les mots de passe en clair", "en": "Show passwords"}
CAPTCHA_ID_RE = re.compile(r'id="captcha_id" name="captcha_id" type="hidden" value="([^"]+)"')


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {"server": {"contact_url": CONTACT}, "selfservice": {"captcha_challenges_per_address": 5}}


def _get(client: FlaskClient, path: str, lang: str) -> str:
    page = client.get(path, headers={"Accept-Language": lang})
    assert page.status_code == 200, (path, page.status_code)
    return page.text


def _show_box(html: str, lang: str) -> bool:
    """The box, hidden until its script shows it, and the script."""
    return (
        '<div class="field-check" data-show-passwords hidden>' in html
        and f'<label for="show-passwords">{SHOW[lang]}</label>' in html
        and "/static/js/show-passwords.js" in html
    )


@pytest.mark.parametrize(("lang", "words"), [("fr", "Nous contacter"), ("en", "Contact us")])
def test_contact_us_on_the_sign_in_pages(client: FlaskClient, lang: str, words: str) -> None:
    for path in ("/login", "/forgot-password", "/forgot-login", "/api-password", "/console-login?next=/authorize"):
        assert f'<a href="{CONTACT}" id="contact-us">{words}</a>' in _get(client, path, lang), path


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_show_passwords_on_every_password_form(
    client: FlaskClient, app: Flask, auth: AuthActions, paul: Person, lang: str
) -> None:
    with app.app_context():
        token = flows.issue(db.session.get(Account, paul.account_id), 3600)
        service.set_console_roles("OCB0000124", paul.login, ["admin"])
        db.session.commit()
    assert _show_box(_get(client, "/login", lang), lang)
    assert _show_box(_get(client, f"/reset-password/{token}", lang), lang)
    step1 = _get(client, "/api-password", lang)
    challenge = CAPTCHA_ID_RE.search(step1).group(1)  # type: ignore[union-attr]
    step2 = client.post(
        "/api-password",
        headers={"Accept-Language": lang},
        data={
            "csrf_token": csrf_token(step1),
            "company_account": "OCB0000124",
            "email": paul.email,
            "captcha_id": challenge,
            "captcha": TEST_CAPTCHA,
        },
    )
    assert step2.status_code == 200 and _show_box(step2.text, lang)
    with app.app_context():
        db.session.get(Account, paul.account_id).language = lang
        db.session.commit()
    auth.login(paul.login, paul.password, lang=lang)
    for path in ("/account", "/account/password", "/my-credential"):
        assert _show_box(_get(client, path, lang), lang), path
    # not where no password is typed
    assert "data-show-passwords" not in _get(client, "/", lang)
    assert "data-show-passwords" not in _get(client, "/forgot-password", lang)


INSTRUCTIONS = {
    "fr": (
        "Saisissez votre mot de passe et cliquez sur le bouton « valider ».",
        "Saisissez votre mot de passe et cliquez sur le bouton « mettre à jour ».",
    ),
    "en": (
        "Enter your password and click the “Validate” button.",
        "Enter your password and click the “Update” button.",
    ),
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_password_pages_say_which_button_to_click(
    client: FlaskClient, app: Flask, auth: AuthActions, paul: Person, lang: str
) -> None:
    reset, change = INSTRUCTIONS[lang]
    with app.app_context():
        token = flows.issue(db.session.get(Account, paul.account_id), 3600)
        db.session.get(Account, paul.account_id).language = lang
        db.session.commit()
    assert f'<p id="password-instruction">{reset}</p>' in _get(client, f"/reset-password/{token}", lang)
    auth.login(paul.login, paul.password, lang=lang)
    assert f'<p id="password-instruction">{change}</p>' in _get(client, "/account/password", lang)


WORDING = {
    "fr": {
        "change": "Modifier mon mot de passe",
        "languages": ("Français", "Anglais"),
        "remember": "Se souvenir de mon compte entreprise",
    },
    "en": {"change": "Change Password", "languages": ("French", "English"), "remember": "Remember my Business Account"},
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_guides_wording(client: FlaskClient, app: Flask, auth: AuthActions, paul: Person, lang: str) -> None:
    w = WORDING[lang]
    remember = _get(client, "/console-login?next=/authorize", lang)
    box = '<input id="remember" name="remember" type="checkbox" value="y">'
    assert f'<label for="remember">{box} {w["remember"]}</label>' in remember
    with app.app_context():
        db.session.get(Account, paul.account_id).language = lang
        db.session.commit()
    auth.login(paul.login, paul.password, lang=lang)
    account = _get(client, "/account", lang)
    assert f'<a href="/account/password">{w["change"]}</a>' in account
    french, english = w["languages"]
    assert re.search(rf'<option (selected )?value="fr">{french}</option>', account)
    assert re.search(rf'<option (selected )?value="en">{english}</option>', account)


def test_load_another_image_gives_a_new_challenge_that_answers(client: FlaskClient, paul: Person) -> None:
    page = _get(client, "/forgot-password", "en")
    first = CAPTCHA_ID_RE.search(page).group(1)  # type: ignore[union-attr]
    assert 'id="captcha-reload" data-new="/captcha/new"' in page and "/static/js/captcha.js" in page
    assert client.post("/captcha/new").status_code == 403  # a POST of the page: its CSRF token
    fresh = client.post("/captcha/new", headers={"X-CSRFToken": csrf_token(page)})
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == "no-store"
    new = fresh.json["id"]  # type: ignore[index]
    assert new != first
    assert fresh.json == {"id": new, "image": f"/captcha/{new}.png", "audio": f"/captcha/{new}.wav"}
    image = client.get(fresh.json["image"])  # type: ignore[index]
    assert image.status_code == 200 and image.mimetype == "image/png"
    sent = client.post(
        "/forgot-password",
        data={"csrf_token": csrf_token(page), "login": paul.login, "captcha_id": new, "captcha": TEST_CAPTCHA},
        headers={"Accept-Language": "en"},
    )
    assert sent.status_code == 200 and "Confirmation of your request" in sent.text


def test_load_another_image_is_limited_per_address_like_the_pages(client: FlaskClient) -> None:
    page = _get(client, "/forgot-login", "en")  # the first of the five challenges
    token = csrf_token(page)
    answers = [client.post("/captcha/new", headers={"X-CSRFToken": token}).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
