"""The feed: `/feed` (content, order, keyset pages, who sees what) and `feed_item` live.

Follows and blocks are written straight into their tables, as
tests/test_visibility.py does: the follow routes are tested with them. The
last test drives two people in a real browser against the live server.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import Block, Follow, User, Workout
from fitness_app.services.social import feed, feed_items
from tests.conftest import log_workout, signed_in_client
from tests.sio_client import DELIVERY_DEADLINE
from tests.social_rows import add_social_rows, recount_follows
from tests.test_follows import plan

LEVELS_CYCLE = ("private", "followers", "public")
ITEM = re.compile(r'<li class="item feed-item" data-workout-id="(\d+)"')


def user_id(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def relate(app: Flask, *rows: Follow | Block) -> None:
    add_social_rows(app, *rows)


def add_workouts(app: Flask, owner: int, count: int, visibility: str = "followers",
                 completed: bool = True, title: str = "Run") -> list[int]:
    """`count` workouts of `owner`, straight into the table, in id order."""
    with app.app_context():
        rows = [Workout(user_id=owner, title=f"{title} {i}", activity="run",
                        duration_minutes=30 + i, distance_km=10.0,
                        performed_on=date.today() - timedelta(days=i),
                        completed_at=datetime.now(UTC) if completed else None,
                        visibility=visibility)
                for i in range(count)]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def feed_ids(client: FlaskClient, query: str = "") -> tuple[list[int], str]:
    page = client.get(f"/feed{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return [int(i) for i in ITEM.findall(html)], html


@pytest.fixture
def people(app: Flask) -> dict[str, FlaskClient]:
    """bob follows ann (accepted) and erin (accepted, but erin blocked him); carl asked."""
    clients = {name: signed_in_client(app, name) for name in ("ann", "bob", "carl", "dave",
                                                              "erin")}
    ids = {name: user_id(app, name) for name in clients}
    relate(app,
           Follow(follower_id=ids["bob"], followee_id=ids["ann"], accepted=True),
           Follow(follower_id=ids["bob"], followee_id=ids["erin"], accepted=True),
           Follow(follower_id=ids["carl"], followee_id=ids["ann"], accepted=False),
           Block(blocker_id=ids["erin"], blocked_id=ids["bob"]))
    return clients


def test_feed_shows_what_each_follower_may_see_newest_first(app, people):
    ann, erin, dave = (user_id(app, n) for n in ("ann", "erin", "dave"))
    private = add_workouts(app, ann, 1, "private")
    followers = add_workouts(app, ann, 2, "followers")
    public = add_workouts(app, ann, 1, "public")
    planned = add_workouts(app, ann, 1, "public", completed=False)
    add_workouts(app, erin, 2, "public")  # she blocked bob
    add_workouts(app, dave, 2, "public")  # bob does not follow him

    shown, html = feed_ids(people["bob"])
    assert shown == sorted(followers + public, reverse=True)
    assert not set(shown) & set(private + planned)
    assert '<a class="user-link" href="/u/ann">ann</a>' in html
    assert f'href="/workouts/{public[0]}"' in html
    assert "10 km" in html and "30 min" in html
    # A pending request sees nothing yet; the blocker sees nothing of the blocked either.
    assert feed_ids(people["carl"])[0] == []
    assert feed_ids(people["erin"])[0] == []


def test_figures_read_in_the_viewers_units_and_time_zone(app, people):
    with app.app_context():
        bob = db.session.get(User, user_id(app, "bob"))
        bob.units, bob.timezone = "imperial", "Pacific/Auckland"
        db.session.commit()
    [workout] = add_workouts(app, user_id(app, "ann"), 1)
    with app.app_context():
        db.session.get(Workout, workout).completed_at = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
        db.session.commit()
    _, html = feed_ids(people["bob"])
    assert "6.2 mi" in html
    # 20:30 UTC is 09:30 the next morning in Auckland (NZDT).
    assert "09:30 NZDT" in html and "2 Mar" in html


def test_keyset_pages_walk_every_item_once_in_order(app, people):
    ann, erin = user_id(app, "ann"), user_id(app, "erin")
    relate(app, Follow(follower_id=user_id(app, "dave"), followee_id=erin, accepted=True))
    expected = []
    for _ in range(3):  # interleaved owners, so each page mixes them
        expected += add_workouts(app, ann, 9) + add_workouts(app, erin, 6, "public")
    expected = sorted(expected + add_workouts(app, ann, 1, "public"), reverse=True)
    dave = signed_in_client(app, "dave2")
    relate(app, Follow(follower_id=user_id(app, "dave2"), followee_id=ann, accepted=True),
           Follow(follower_id=user_id(app, "dave2"), followee_id=erin, accepted=True))

    seen, query, pages = [], "", 0
    while True:
        ids, html = feed_ids(dave, query)
        seen += ids
        pages += 1
        assert len(ids) == (20 if pages < 3 else 6)
        match = re.search(r'href="/feed\?before=(\d+)">Older', html)
        if match is None:
            break
        assert int(match.group(1)) == ids[-1]
        query = f"?before={match.group(1)}"
    assert pages == 3 and seen == expected


def test_pages_stay_whole_when_many_people_are_followed(app, people):
    """More followed people than a page: the ranges are cut at the floor (services/social/
    feed.py), and pages still hold every workout once, in order, whoever posts most."""
    bob = user_id(app, "bob")
    with app.app_context():
        owners = [User(username=f"pal{i}", email=f"pal{i}@example.com", password_hash="!")
                  for i in range(25)]
        db.session.add_all(owners)
        db.session.commit()
        owners = [o.id for o in owners]
    relate(app, *(Follow(follower_id=bob, followee_id=o, accepted=True) for o in owners))
    expected = add_workouts(app, user_id(app, "ann"), 30)  # old, and many
    for round_ in range(3):
        for n, owner in enumerate(owners):
            expected += add_workouts(app, owner, 1, LEVELS_CYCLE[(n + round_) % 3])
    expected += add_workouts(app, owners[7], 30, "public")  # one person posts a lot, last
    with app.app_context():
        private = set(db.session.scalars(sa.select(Workout.id)
                                         .where(Workout.visibility == "private")))
    expected = sorted(set(expected) - private, reverse=True)

    seen, query = [], ""
    while True:
        ids, html = feed_ids(people["bob"], query)
        seen += ids
        match = re.search(r'href="/feed\?before=(\d+)">Older', html)
        if match is None:
            break
        query = f"?before={match.group(1)}"
    assert seen == expected


@pytest.mark.one_database
@pytest.mark.parametrize("before", ["abc", "-1", "1.5", "", "١٢", "0x10"])
def test_a_malformed_before_is_a_400(client, signed_in, before):
    assert client.get("/feed", query_string={"before": before}).status_code == 400


def test_a_huge_before_means_from_the_newest(app, people):
    ids = add_workouts(app, user_id(app, "ann"), 2)
    assert feed_ids(people["bob"], "?before=" + "9" * 400)[0] == sorted(ids, reverse=True)


def test_the_empty_feed_says_how_to_follow_someone(client, signed_in):
    ids, html = feed_ids(client)
    assert ids == []
    assert "Follow someone to see their workouts" in html
    assert '<a href="/feed" aria-current="page">Feed</a>' in html


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get("/feed")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("before", [None, 5_000])
def test_the_page_reads_ranges_of_ix_workouts_feed_never_a_scan_of_workouts(app, before):
    """What keeps the page's cost off the length of the histories (docs/performance.md,
    "The social layer"): each followed person's levels are ranges of the index."""
    with app.app_context():
        statement = feed.candidate_ids(3, before, feed.PAGE_SIZE + 1)
    found = plan(app, statement)
    assert found.count("ix_workouts_feed") == 2, found
    assert "SCAN workouts" not in found and "Seq Scan on workouts" not in found, found


# --- feed_item -------------------------------------------------------------------------


def listen(app: Flask, client: FlaskClient):
    socket = socketio.test_client(app, flask_test_client=client)
    assert socket.is_connected()
    socket.get_received()
    return socket


def feed_events(socket) -> list[dict]:
    return [e["args"][0] for e in socket.get_received() if e["name"] == "feed_item"]


def wait_for_feed_item(socket) -> list[dict]:
    """The `feed_item` events once the first arrives (the fan-out is a background task)."""
    deadline = time.monotonic() + DELIVERY_DEADLINE
    while time.monotonic() < deadline:
        events = feed_events(socket)
        if events:
            return events
        time.sleep(0.02)
    raise AssertionError("no feed_item arrived")


def test_a_completed_workout_reaches_accepted_followers_only(app, people):
    sockets = {name: listen(app, client) for name, client in people.items()}
    assert log_workout(people["ann"], title="Hill repeats", visibility="public").status_code \
        == 302
    with app.app_context():
        workout = db.session.scalar(sa.select(Workout.id).where(Workout.title == "Hill repeats"))
    assert wait_for_feed_item(sockets["bob"]) == [
        {"workout_id": workout, "username": "ann", "title": "Hill repeats",
         "url": f"/workouts/{workout}"}]
    # One emit to every room of the batch, so the others would have it by now.
    for name in ("ann", "carl", "dave", "erin"):
        assert feed_events(sockets[name]) == [], name


def test_completing_a_planned_workout_announces_it(app, people):
    bob = listen(app, people["bob"])
    assert log_workout(people["ann"], title="Long ride", completed=None).status_code == 302
    with app.app_context():
        workout = db.session.scalar(sa.select(Workout.id).where(Workout.title == "Long ride"))
    assert feed_events(bob) == []  # planned: nothing to see yet
    assert people["ann"].post(f"/workouts/{workout}/complete").status_code == 302
    assert [e["workout_id"] for e in wait_for_feed_item(bob)] == [workout]


def test_private_workouts_and_blocked_followers_hear_nothing(app, people):
    ann, bob, erin = (user_id(app, n) for n in ("ann", "bob", "erin"))
    sockets = {name: listen(app, people[name]) for name in ("ann", "bob", "erin")}
    [private] = add_workouts(app, ann, 1, "private")
    [erins] = add_workouts(app, erin, 1, "public")
    with app.app_context():
        assert feed_items.fan_out(private) == 0
        # bob's follow of erin was accepted, but she blocked him since.
        assert feed_items.fan_out(erins) == 0
        assert feed_items.followers_batch(erin, 0) == []
        assert feed_items.followers_batch(ann, 0) == [bob]
    for socket in sockets.values():
        assert feed_events(socket) == []


def test_followers_are_read_in_keyset_batches(app, people):
    ann = user_id(app, "ann")
    followers = [signed_in_client(app, f"fan{i}") for i in range(5)]
    ids = [user_id(app, f"fan{i}") for i in range(5)]
    relate(app, *(Follow(follower_id=i, followee_id=ann, accepted=True) for i in ids))
    with app.app_context():
        batches, after = [], 0
        while batch := feed_items.followers_batch(ann, after, size=2):
            batches.append(batch)
            after = batch[-1]
    expected = sorted([user_id(app, "bob"), *ids])
    assert batches == [expected[0:2], expected[2:4], expected[4:6]]
    sockets = [listen(app, client) for client in followers]
    [workout] = add_workouts(app, ann, 1)
    with app.app_context():
        assert feed_items.fan_out(workout) == 6
    expected_event = {"workout_id": workout, "username": "ann", "title": "Run 0",
                      "url": f"/workouts/{workout}"}
    assert all(feed_events(s) == [expected_event] for s in sockets)


# --- in a real browser ------------------------------------------------------------------


def follow_on_live_server(live_server, follower: str, followee: str) -> None:
    """An accepted follow, written into the live server's database (the follow pages are
    tested with them)."""
    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            ids = dict(conn.execute(sa.select(User.username, User.id)
                                    .where(User.username.in_([follower, followee]))).all())
            conn.execute(sa.insert(Follow).values(follower_id=ids[follower],
                                                  followee_id=ids[followee], accepted=True,
                                                  created_at=datetime.now(UTC)))
            recount_follows(conn)
    finally:
        engine.dispose()


@pytest.mark.browser
@pytest.mark.live
def test_a_followed_persons_workout_appears_at_the_top_of_an_open_feed(browser, live_server):
    from playwright.sync_api import expect

    from tests.live import post_form, register
    from tests.test_browser import CONNECTED, PASSWORD
    from tests.test_ui import AXE, WIDTHS, axe_violations, sideways_overflow

    base, tag = live_server.url, uuid.uuid4().hex[:8]
    ann, bob = f"ann{tag}", f"bob{tag}"
    ann_session, bob_session = register(base, ann, PASSWORD), register(base, bob, PASSWORD)
    follow_on_live_server(live_server, bob, ann)
    fields = {"activity": "run", "duration_minutes": "31", "distance_km": "6.2",
              "performed_on": date.today().isoformat(), "completed": "y",
              "visibility": "followers"}
    assert post_form(ann_session, base, "/workouts/new", "/workouts/new",
                     {**fields, "title": "Easy jog"}).status_code == 302

    context = browser.new_context(base_url=base, **WIDTHS[360])
    context.set_default_timeout(30_000)
    context.add_init_script(path=str(AXE))
    context.add_cookies([{"name": c.name, "value": c.value, "url": base}
                         for c in bob_session.cookies])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto("/feed")
        items = page.locator("#feed-list > li")
        expect(items).to_have_count(1)
        page.wait_for_function(CONNECTED)
        page.evaluate("() => { window.__loaded = performance.timeOrigin; }")

        title = "Hill <b>repeats</b>"
        assert post_form(ann_session, base, "/workouts/new", "/workouts/new",
                         {**fields, "title": title}).status_code == 302
        expect(items).to_have_count(2)
        top = items.first
        expect(top.locator(".item-title")).to_have_text(f"{ann}: {title}")
        expect(top.get_by_role("link", name=title)).to_have_attribute(
            "href", re.compile(r"^/workouts/\d+$"))
        expect(top.get_by_role("link", name=ann)).to_have_attribute("href", f"/u/{ann}")
        expect(page.locator("#feed-live")).to_have_text(f"{ann} completed {title}.")
        assert page.evaluate("() => window.__loaded === performance.timeOrigin"), "reloaded"
        # The same item again (a relay, a replay) is shown once.
        page.evaluate("""(id) => document.dispatchEvent(new CustomEvent("fitness:feed_item",
            {detail: {workout_id: id, username: "x", title: "again", url: "/"}}))""",
            int(top.get_attribute("data-workout-id")))
        expect(items).to_have_count(2)
        assert sideways_overflow(page) <= 0
        assert axe_violations(page) == []
        assert errors == []
    finally:
        context.close()
