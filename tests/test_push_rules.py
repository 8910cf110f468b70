"""The Web Push rules that need no server: grouping, payload size, origins, retries, keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fitness_app.services.push import devices, keys, policy
from fitness_app.services.push.sender import (
    CLAIMS_LIFETIME,
    MIN_RETRY_GAP,
    Answer,
    Outcomes,
    Push,
    Retries,
    judge,
    retry_delay,
    vapid_authorization,
)


def note(id_: int, title: str = "T", message: str = "m", silent: bool = False,
         kind: str = "workout_completed", **extra) -> dict:
    return {"id": id_, "kind": kind, "title": title, "message": message, "silent": silent,
            "created_at": "2026-12-04T10:00:00Z", "data": {}, "url": "/", **extra}


def decoded(message: policy.Message) -> dict:
    return json.loads(message.payload)


# -- who gets what ---------------------------------------------------------

def test_one_message_per_user_in_a_unit_led_by_the_first_audible_one():
    found = policy.messages([
        (1, note(10, "Workout completed", "Tempo run")),
        (1, note(11, "Goal achieved", "5 workouts this week")),
        (2, note(12, "Workout completed", "Swim")),
    ])
    assert [(m.user_id, decoded(m)["id"]) for m in found] == [(1, 10), (2, 12)]
    assert decoded(found[0])["message"] == "Tempo run\nGoal achieved: 5 workouts this week"
    assert decoded(found[1]) == note(12, "Workout completed", "Swim")


def test_silent_ones_are_left_out_and_an_all_silent_group_is_not_pushed():
    found = policy.messages([
        (1, note(10, "Workout completed", "Run", silent=True)),
        (1, note(11, "Personal record", "Longest run")),
        (2, note(12, silent=True)),
    ])
    assert [(m.user_id, decoded(m)["id"], decoded(m)["message"]) for m in found] == [
        (1, 11, "Longest run")]


def test_groups_from_the_payload_split_a_unit_and_announcements_stand_alone():
    found = policy.messages([
        (1, note(10, group="10")), (1, note(11, group="11")),
        (None, note(12, kind="announcement")), (None, note(13, kind="announcement")),
    ])
    assert [(m.user_id, decoded(m)["id"]) for m in found] == [(1, 10), (1, 11), (None, 12),
                                                             (None, 13)]


def test_reminders_are_urgent_and_the_rest_normal():
    found = policy.messages([(1, note(1, kind="reminder")), (2, note(2))])
    assert [m.urgency for m in found] == ["high", "normal"]


@pytest.mark.parametrize("text", ["a" * 5000, "é" * 3000, "🏃" * 1500, "x\n" * 2500])
def test_a_long_message_is_shortened_to_fit_one_record(text):
    body = policy.encode(note(1, message=text))
    assert len(body) <= policy.MAX_PAYLOAD
    payload = json.loads(body)
    assert payload["message"].endswith(policy.ELLIPSIS)
    assert text.startswith(payload["message"][:-1])
    # As long as it can be: one more character would not fit.
    longer = text[: len(payload["message"])] + policy.ELLIPSIS
    assert len(policy.encode(note(1, message=longer), limit=10**6)) > policy.MAX_PAYLOAD


def test_a_short_message_is_untouched():
    assert json.loads(policy.encode(note(1, message="Tempo run"))) == note(1, message="Tempo run")


def test_connected_devices_get_no_push():
    assert policy.unconnected(["a", "b", "c"], {"b"}) == ["a", "c"]


# -- which endpoints are allowed ------------------------------------------

SERVICES = ["https://fcm.googleapis.com", "https://*.notify.windows.com",
            "http://127.0.0.1:8123"]


@pytest.mark.parametrize("endpoint, allowed", [
    ("https://fcm.googleapis.com/fcm/send/abc", True),
    ("https://FCM.googleapis.com/fcm/send/abc", True),
    ("https://fcm.googleapis.com:443/x", True),
    ("https://wns2-par02p.notify.windows.com/w/?token=x", True),
    ("http://127.0.0.1:8123/push/x", True),
    ("http://fcm.googleapis.com/fcm/send/abc", False),
    ("https://fcm.googleapis.com:8443/x", False),
    ("https://fcm.googleapis.com.evil.example/x", False),
    ("https://user:pw@fcm.googleapis.com/x", False),
    ("https://notify.windows.com/x", False),
    ("https://evil.example/?https://fcm.googleapis.com", False),
    ("http://127.0.0.1:8124/push/x", False),
    ("http://127.0.0.1/push/x", False),
    ("http://169.254.169.254/latest/meta-data", False),
    ("https://fcm.googleapis.com/" + "a" * 3000, False),
    ("https://fcm.googleapis.com/a b", False),
    ("https://fcm.googleapis.com:99999/x", False),
    ("javascript:alert(1)", False),
    ("", False),
])
def test_only_known_push_services_are_allowed(endpoint, allowed):
    assert devices.origin_allowed(endpoint, SERVICES) is allowed


def raw_point() -> str:
    return keys.b64url(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


@pytest.mark.parametrize("body", [
    None, [], "x", {"endpoint": "https://fcm.googleapis.com/x"},
    {"endpoint": 5, "keys": {}},
    {"endpoint": "https://fcm.googleapis.com/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
    {"endpoint": "https://fcm.googleapis.com/x",
     "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22}},  # not on the curve
    {"endpoint": "https://fcm.googleapis.com/x", "keys": {"p256dh": "!" * 87, "auth": "A" * 22}},
    {"endpoint": "https://fcm.googleapis.com/x", "keys": {"p256dh": 7, "auth": None}},
])
def test_a_body_that_is_not_a_valid_subscription_is_refused(body):
    with pytest.raises(devices.InvalidSubscription):
        devices.parse(body, SERVICES)


def test_a_valid_subscription_is_accepted_with_or_without_padding():
    point = raw_point()
    parsed = devices.parse({"endpoint": "https://fcm.googleapis.com/x",
                            "keys": {"p256dh": point + "=", "auth": "A" * 22 + "=="}}, SERVICES)
    assert (parsed.p256dh, parsed.auth) == (point, "A" * 22)


@pytest.mark.parametrize("agent, label", [
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0 Mobile Safari/537.36", "Chrome on Android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
     "Firefox on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0 Safari/537.36 Edg/131.0", "Edge on macOS"),
    ("", "A browser"),
])
def test_the_devices_page_names_the_browser(agent, label):
    assert devices.browser_label(agent) == label


# -- retries ---------------------------------------------------------------

def test_backoff_doubles_and_retry_after_wins_but_never_under_a_second():
    now = 1_000_000.0
    assert [retry_delay(Answer(503), attempt, now) for attempt in range(4)] == [1, 2, 4, 8]
    assert retry_delay(Answer(503), 30, now) == 15 * 60
    assert retry_delay(Answer(429, "7"), 0, now) == 7
    assert retry_delay(Answer(429, "0"), 0, now) == MIN_RETRY_GAP
    when = datetime.fromtimestamp(now, UTC) + timedelta(seconds=30)
    assert retry_delay(Answer(429, format_datetime(when, usegmt=True)), 0, now) == 30
    assert retry_delay(Answer(429, "soon"), 2, now) == 4


def push(device: str = "d", expires: float = 10_000.0) -> Push:
    return Push(0.0, device, "https://fcm.googleapis.com/x", "k", "a", b"{}", "normal", expires)


def test_retries_of_one_device_are_a_second_apart():
    retries = Retries(limit=10)
    for _ in range(3):
        assert retries.add(push("phone"), due=100.0)
    retries.add(push("laptop"), due=100.0)
    assert sorted((p.device_id, p.due) for p in retries.due(102.5)) == [
        ("laptop", 100.0), ("phone", 100.0), ("phone", 101.0), ("phone", 102.0)]


def test_retries_are_bounded():
    retries = Retries(limit=2)
    assert retries.add(push(), 1) and retries.add(push(), 1)
    assert not retries.add(push(), 1)


@pytest.mark.parametrize("status, verdict", [
    (201, "sent"), (404, "forgotten"), (410, "forgotten"), (429, "retry"), (500, "retry"),
    (503, "retry"), (0, "retry"), (400, "refused"), (403, "refused"), (413, "refused"),
    (-1, "refused"),
])
def test_each_answer_has_its_consequence(status, verdict):
    retries, outcomes = Retries(limit=10), Outcomes()
    one = push()
    assert judge(one, Answer(status), retries, outcomes, now=0.0) == verdict
    assert (one.device_id in outcomes.reached) is (verdict == "sent")
    assert (one.device_id in outcomes.forgotten) is (verdict == "forgotten")
    assert len(retries) == (verdict == "retry")


def test_a_retry_past_the_ttl_is_given_up():
    retries = Retries(limit=10)
    assert judge(push(expires=5.0), Answer(503), retries, Outcomes(), now=4.5) == "expired"
    assert len(retries) == 0


# -- keys --------------------------------------------------------------------

def test_a_key_is_made_once_into_the_instance_folder(tmp_path):
    first = keys.load(None, "mailto:ops@example.com", tmp_path)
    again = keys.load(None, "mailto:ops@example.com", tmp_path)
    assert first.public_key == again.public_key
    assert len(keys.b64url_decode(first.public_key)) == 65
    assert (tmp_path / keys.KEY_FILE).stat().st_mode & 0o077 == 0


def test_a_configured_key_is_used_as_pem_or_raw(tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    raw = keys.b64url(private.private_numbers().private_value.to_bytes(32, "big"))
    expected = keys.b64url(private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    assert keys.load(pem, "https://example.com", tmp_path).public_key == expected
    assert keys.load(raw, "https://example.com", tmp_path).public_key == expected
    assert not (tmp_path / keys.KEY_FILE).exists()


@pytest.mark.parametrize("bad", ["not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END"])
def test_a_bad_configured_key_stops_the_start(tmp_path, bad):
    with pytest.raises(ValueError, match="VAPID_PRIVATE_KEY"):
        keys.load(bad, "mailto:ops@example.com", tmp_path)


def test_the_subject_must_be_mailto_or_https(tmp_path):
    with pytest.raises(RuntimeError, match="VAPID_SUBJECT"):
        keys.load(None, "ops@example.com", tmp_path)


def test_a_vapid_signature_is_reused_per_service_until_half_its_life_is_gone(tmp_path):
    ours = keys.load(None, "mailto:ops@example.com", tmp_path)
    now = 1_900_000_000.0
    first = vapid_authorization(ours, "https://fcm.googleapis.com", now)
    assert vapid_authorization(ours, "https://fcm.googleapis.com", now + 3600) == first
    other = vapid_authorization(ours, "https://updates.push.services.mozilla.com", now)
    assert other != first
    renewed = vapid_authorization(ours, "https://fcm.googleapis.com", now + CLAIMS_LIFETIME / 2)
    assert renewed != first
    claims = jwt_claims(renewed)
    assert claims == {"sub": "mailto:ops@example.com", "aud": "https://fcm.googleapis.com",
                      "exp": int(now + CLAIMS_LIFETIME / 2) + CLAIMS_LIFETIME}
    assert f"k={ours.public_key}" in renewed


def jwt_claims(authorization: str) -> dict:
    token = authorization.split("t=", 1)[1].split(",", 1)[0]
    return json.loads(keys.b64url_decode(token.split(".")[1]))
