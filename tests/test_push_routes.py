"""The Web Push HTTP interface: /push/key, /push/subscriptions, /settings/devices, the app shell."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import PushDevice
from fitness_app.services.push import keys
from tests.conftest import AuthActions, built_app, signed_in_client

SERVICE = "https://push.example.test"
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0 Mobile Safari/537.36")


@pytest.fixture
def app(database: str) -> Iterator[Flask]:
    with built_app(database, PUSH_SERVICES=[SERVICE]) as app:
        yield app


def subscription(endpoint: str | None = None) -> dict:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"endpoint": endpoint or f"{SERVICE}/send/{id(point)}",
            "keys": {"p256dh": keys.b64url(point), "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}


def post(client: FlaskClient, body, **kwargs):
    return client.post("/push/subscriptions", json=body, **kwargs)


def devices_in_db(app: Flask) -> list[PushDevice]:
    with app.app_context():
        return list(db.session.scalars(sa.select(PushDevice)))


@pytest.mark.one_database
def test_the_key_is_the_uncompressed_p256_point(client):
    key = client.get("/push/key").get_json()["publicKey"]
    raw = keys.b64url_decode(key)
    assert len(raw) == 65 and raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def test_subscribing_answers_201_then_200_with_the_same_id(app):
    ann = signed_in_client(app, "ann")
    body = subscription()
    first = post(ann, body, headers={"User-Agent": ANDROID})
    again = post(ann, body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json() == again.get_json() == {"id": first.get_json()["id"]}
    [device] = devices_in_db(app)
    assert device.browser == "Chrome on Android"


def test_anonymous_clients_get_401(client):
    assert post(client, subscription()).status_code == 401
    assert client.delete("/push/subscriptions/abc").status_code == 401


@pytest.mark.one_database
@pytest.mark.parametrize("body", [
    "not json at all",
    {"endpoint": "https://evil.example/steal", "keys": subscription()["keys"]},
    {"endpoint": "http://127.0.0.1:6379/", "keys": subscription()["keys"]},
    {"endpoint": f"{SERVICE}/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
    {"endpoint": f"{SERVICE}/x"},
    [1, 2],
])
def test_anything_but_a_subscription_at_a_known_service_is_400(app, body):
    ann = signed_in_client(app, "ann")
    if isinstance(body, str):
        response = ann.post("/push/subscriptions", data=body, content_type="application/json")
    else:
        response = post(ann, body)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]
    assert devices_in_db(app) == []


@pytest.mark.one_database
def test_a_large_body_is_413(app):
    ann = signed_in_client(app, "ann")
    response = post(ann, {**subscription(), "padding": "x" * 10_000})
    assert response.status_code == 413


@pytest.mark.one_database
def test_the_forms_still_refuse_json(app):
    ann = signed_in_client(app, "ann")
    assert ann.post("/goals/new", json={"kind": "workouts"}).status_code == 415


@pytest.mark.one_database
def test_the_csrf_token_is_checked_in_the_header(database):
    with built_app(database, PUSH_SERVICES=[SERVICE], WTF_CSRF_ENABLED=True) as app:
        client = app.test_client()
        page = client.get("/auth/register").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/auth/register", data={
            "csrf_token": token, "username": "ann", "email": "ann@example.com",
            "password": "password1", "confirm": "password1"})
        meta = re.search(r'<meta name="csrf-token" content="([^"]+)"',
                         client.get("/settings/").get_data(as_text=True)).group(1)
        body = subscription()
        assert post(client, body).status_code == 400
        created = post(client, body, headers={"X-CSRFToken": meta})
        assert created.status_code == 201
        device_id = created.get_json()["id"]
        assert client.delete(f"/push/subscriptions/{device_id}").status_code == 400
        assert client.delete(f"/push/subscriptions/{device_id}",
                             headers={"X-CSRFToken": meta}).status_code == 204


def test_delete_is_204_for_ones_own_and_404_for_anothers(app):
    ann, bob = signed_in_client(app, "ann"), signed_in_client(app, "bob")
    device_id = post(ann, subscription()).get_json()["id"]
    assert bob.delete(f"/push/subscriptions/{device_id}").status_code == 404
    assert ann.delete(f"/push/subscriptions/{device_id}").status_code == 204
    assert ann.delete(f"/push/subscriptions/{device_id}").status_code == 404
    assert devices_in_db(app) == []


@pytest.mark.parametrize("name", ["%00", "a%00b", "x" * 65, "%C3%A9t%C3%A9", "a.b"])
def test_a_device_id_no_device_could_have_is_404_without_a_query(app, name):
    ann = signed_in_client(app, "ann")
    post(ann, subscription())
    assert ann.delete(f"/push/subscriptions/{name}").status_code == 404
    assert ann.post(f"/settings/devices/{name}/remove").status_code == 404
    assert len(devices_in_db(app)) == 1


def test_a_socket_naming_an_impossible_device_still_connects(app):
    ann = signed_in_client(app, "ann")
    socket = socketio.test_client(app, flask_test_client=ann, auth={"device": "a\x00b"})
    assert socket.is_connected()
    socket.disconnect()


def test_an_endpoint_that_changes_hands_belongs_to_the_new_user(app):
    ann, bob = signed_in_client(app, "ann"), signed_in_client(app, "bob")
    body = subscription()
    ann_id = post(ann, body).get_json()["id"]
    bob_answer = post(bob, body)
    assert bob_answer.status_code == 201 and bob_answer.get_json()["id"] != ann_id
    [device] = devices_in_db(app)
    assert device.id == bob_answer.get_json()["id"]


def test_the_settings_page_names_this_logins_devices_only(app):
    phone = signed_in_client(app, "ann")
    laptop = app.test_client()
    AuthActions(laptop).login()
    mine = post(phone, subscription()).get_json()["id"]
    other = post(laptop, subscription()).get_json()["id"]
    page = phone.get("/settings/").get_data(as_text=True)
    assert f'data-devices="{mine}"' in page and other not in page


def test_the_devices_page_lists_and_removes(app):
    ann = signed_in_client(app, "ann")
    device_id = post(ann, subscription(), headers={"User-Agent": ANDROID}).get_json()["id"]
    page = ann.get("/settings/devices").get_data(as_text=True)
    assert "Chrome on Android" in page and "Added" in page and "Last used" in page
    assert f'data-device-id="{device_id}"' in page
    other = signed_in_client(app, "bob")
    assert other.post(f"/settings/devices/{device_id}/remove").status_code == 404
    assert ann.post(f"/settings/devices/{device_id}/remove").status_code == 302
    assert "No device gets notifications yet" in ann.get("/settings/devices").get_data(
        as_text=True)


@pytest.mark.parametrize("ending", ["logout", "logout-everywhere", "delete"])
def test_ending_the_login_ends_its_subscriptions(app, ending):
    ann = signed_in_client(app, "ann")
    post(ann, subscription())
    if ending == "delete":
        ann.post("/settings/delete", data={"password": "password1"})
    else:
        ann.post(f"/auth/{ending}")
    assert devices_in_db(app) == []


def test_a_password_change_ends_the_other_logins_subscriptions_only(app):
    phone = signed_in_client(app, "ann")
    laptop = app.test_client()
    AuthActions(laptop).login()
    phone_device = post(phone, subscription()).get_json()["id"]
    laptop_device = post(laptop, subscription()).get_json()["id"]
    laptop.post("/settings/password", data={"current_password": "password1",
                                            "password": "password2", "confirm": "password2"})
    assert [d.id for d in devices_in_db(app)] == [laptop_device]
    assert phone_device != laptop_device


@pytest.mark.one_database
def test_the_manifest_makes_an_installable_app(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert manifest["name"] and manifest["short_name"]
    assert manifest["theme_color"] == "#1f56d0" and manifest["background_color"]
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png"
        width, height = int.from_bytes(image.data[16:20], "big"), int.from_bytes(
            image.data[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


@pytest.mark.one_database
def test_the_service_worker_is_served_from_the_root_uncached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "no-cache" in response.headers["Cache-Control"]
    assert "max-age=31536000" not in response.headers["Cache-Control"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert b"showNotification" in response.data


@pytest.mark.one_database
def test_every_page_links_the_manifest(client, signed_in):
    for path in ("/", "/settings/", "/settings/devices", "/notifications/"):
        assert '<link rel="manifest" href="/manifest.webmanifest">' in client.get(path).get_data(
            as_text=True)
    settings = client.get("/settings/").get_data(as_text=True)
    assert "Add to Home Screen" in settings and 'id="enable-system-notifications"' in settings
