"""What captchas may cost: each medium drawn once per challenge (the sound is ~215 ms of
CPU), kept in the challenge's row until it is answered; challenges capped per client
address, an IPv6 address counting for its /64."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from idp import create_app
from idp.extensions import db
from idp.security import captcha
from tests.conftest import TEST_CAPTCHA
from tests.conftest import csrf_token

CAP = 4


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {"selfservice": {"captcha_challenges_per_address": CAP}}


def new_challenge(client: FlaskClient, address: str = "127.0.0.1") -> tuple[int, str | None]:
    page = client.get("/forgot-login", environ_base={"REMOTE_ADDR": address})
    found = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text)
    return page.status_code, found.group(1) if found else None


def stored_media(app: Flask, challenge_id: str) -> tuple[bytes | None, bytes | None]:
    with app.app_context():
        row = db.session.execute(
            sa.text("SELECT image_png, audio_wav FROM captcha_challenges WHERE id = :id"), {"id": challenge_id}
        ).one()
        return (bytes(row[0]) if row[0] is not None else None, bytes(row[1]) if row[1] is not None else None)


def test_repeated_fetches_of_one_audio_captcha_cost_one_rendering(app: Flask, client: FlaskClient) -> None:
    _, cid = new_challenge(client)
    before = captcha.RENDERINGS.copy()
    sounds = [client.get(f"/captcha/{cid}.wav") for _ in range(5)]
    assert all(s.status_code == 200 and s.data[:4] == b"RIFF" for s in sounds)
    assert len({s.data for s in sounds}) == 1  # the same sound each time
    assert captcha.RENDERINGS["audio"] - before["audio"] == 1
    images = [client.get(f"/captcha/{cid}.png") for _ in range(5)]
    assert len({i.data for i in images}) == 1
    assert captcha.RENDERINGS["image"] - before["image"] == 1
    assert stored_media(app, cid) == (images[0].data, sounds[0].data)


def test_a_new_app_process_reads_the_stored_rendering(app: Flask, client: FlaskClient, settings: Any) -> None:
    """The media live in the challenge's row, so another process (here: another app on the
    same database) serves the same bytes without drawing them again."""
    _, cid = new_challenge(client)
    first = client.get(f"/captcha/{cid}.wav").data
    other = create_app(settings)
    before = captcha.RENDERINGS["audio"]
    assert other.test_client().get(f"/captcha/{cid}.wav").data == first
    assert captcha.RENDERINGS["audio"] == before
    other.extensions["idp.hasher"].close()


def test_media_are_dropped_once_the_challenge_is_answered(app: Flask, client: FlaskClient) -> None:
    page = client.get("/forgot-login")
    cid = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.get(f"/captcha/{cid}.png")
    client.get(f"/captcha/{cid}.wav")
    client.post(
        "/forgot-login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "someone@example.test",
            "captcha_id": cid,
            "captcha": TEST_CAPTCHA,
        },
    )
    assert stored_media(app, cid) == (None, None)
    assert client.get(f"/captcha/{cid}.wav").status_code == 404


def test_challenges_are_capped_per_address(client: FlaskClient) -> None:
    for _ in range(CAP):
        assert new_challenge(client)[0] == 200
    status, cid = new_challenge(client)
    assert status == 429 and cid is None
    assert new_challenge(client, "192.0.2.7")[0] == 200  # another address has its own count
    api = client.post("/v3.0/api-password/captchas")
    assert api.status_code == 429 and api.get_json()["error_code"] == "IAM.0012"


def test_an_ipv6_address_counts_for_its_whole_slash_64(client: FlaskClient) -> None:
    for n in range(CAP):
        assert new_challenge(client, f"2001:db8:1:2::{n + 1:x}")[0] == 200  # a new address each time
    assert new_challenge(client, "2001:db8:1:2:ffff:ffff:ffff:ffff")[0] == 429  # same /64
    assert new_challenge(client, "2001:db8:1:3::1")[0] == 200  # the next /64
