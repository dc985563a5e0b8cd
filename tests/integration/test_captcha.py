"""Captcha: server-side, single use, expiring, case-insensitive (SEC-CAP-01)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp import clock
from idp.extensions import db
from idp.security.captcha import CaptchaChallenge
from idp.settings import SettingsError
from idp.settings import build
from tests.conftest import csrf_token


@pytest.fixture
def settings_overrides() -> dict:
    return {"captcha": {"test_answer": ""}}  # the real answers only


def _form(client: FlaskClient, path: str = "/forgot-login") -> tuple[str, str]:
    page = client.get(path, headers={"Accept-Language": "en"})
    return csrf_token(page.text), re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)


def _answer(app: Flask, challenge_id: str) -> str:
    with app.app_context():
        return db.session.get(CaptchaChallenge, challenge_id).answer


def _post(client: FlaskClient, token: str, challenge_id: str, answer: str):  # type: ignore[no-untyped-def]
    return client.post("/forgot-login", headers={"Accept-Language": "en"},
                       data={"csrf_token": token, "email": "someone@example.test", "captcha_id": challenge_id,
                             "captcha": answer})


def test_right_answer_in_any_case_is_accepted(app: Flask, client: FlaskClient) -> None:
    token, cid = _form(client)
    response = _post(client, token, cid, f"  {_answer(app, cid).lower()} ")
    assert response.status_code == 200 and "Confirmation of your login request" in response.text


def test_wrong_answer_is_refused_next_to_the_field_with_a_new_image(app: Flask, client: FlaskClient) -> None:
    token, cid = _form(client)
    response = _post(client, token, cid, "WRONG")
    assert response.status_code == 400
    assert 'id="captcha-error"' in response.text and "do not match the image" in response.text
    new_id = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', response.text).group(1)
    assert new_id != cid


def test_answer_cannot_be_reused(app: Flask, client: FlaskClient) -> None:
    token, cid = _form(client)
    answer = _answer(app, cid)
    assert _post(client, token, cid, answer).status_code == 200
    assert _post(client, token, cid, answer).status_code == 400


def test_wrong_try_burns_the_challenge(app: Flask, client: FlaskClient) -> None:
    token, cid = _form(client)
    answer = _answer(app, cid)
    _post(client, token, cid, "WRONG")
    assert _post(client, token, cid, answer).status_code == 400


def test_expired_challenge_is_refused(app: Flask, client: FlaskClient) -> None:
    token, cid = _form(client)
    answer = _answer(app, cid)
    with clock.shifted(timedelta(seconds=601)):
        assert _post(client, token, cid, answer).status_code == 400


def test_missing_or_forged_challenge_is_refused(client: FlaskClient) -> None:
    token, _ = _form(client)
    assert _post(client, token, "", "ABCDE").status_code == 400
    assert _post(client, token, "forged-id", "ABCDE").status_code == 400


def test_image_and_audio_are_served_for_a_live_challenge_only(app: Flask, client: FlaskClient) -> None:
    _, cid = _form(client)
    image = client.get(f"/captcha/{cid}.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    sound = client.get(f"/captcha/{cid}.wav")
    assert sound.status_code == 200 and sound.data[:4] == b"RIFF"
    assert client.get("/captcha/unknown.png").status_code == 404
    with clock.shifted(timedelta(seconds=601)):
        assert client.get(f"/captcha/{cid}.png").status_code == 404


def test_test_answer_is_refused_outside_tests() -> None:
    with pytest.raises(SettingsError, match="test-only"):
        build({"captcha": {"test_answer": "PASS"}})
    with pytest.raises(SettingsError, match="test-only"):
        build({"server": {"environment": "production", "secret_key": "s" * 48, "issuer": "https://x.example"},
               "captcha": {"test_answer": "PASS"}})
