"""Fast pages: compressed responses, static files cached for a year under hashed URLs."""

from __future__ import annotations

import re

import pytest

# Static files and headers: the same whatever the database holds.
pytestmark = pytest.mark.one_database


def static_urls(page: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', page)


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(client):
    page = client.get("/auth/login").get_data(as_text=True)
    urls = static_urls(page)
    assert {u.split("?")[0] for u in urls} >= {"/static/css/app.css", "/static/js/app.js",
                                                "/static/img/logo.svg"}
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{16}$", url), url
        response = client.get(url)
        assert response.status_code == 200
        assert response.cache_control.max_age == 365 * 24 * 3600
        assert response.cache_control.immutable and response.cache_control.public
        assert not response.cache_control.no_cache


def test_a_stale_or_missing_hash_is_not_cached_for_long(client):
    for url in ("/static/css/app.css", "/static/css/app.css?v=0000000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.cache_control.max_age != 365 * 24 * 3600
        assert not response.cache_control.immutable


def test_pages_and_static_files_are_compressed(client, auth):
    auth.register()
    chromium = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    for path in ["/", "/workouts/", *static_urls(client.get("/").get_data(as_text=True))]:
        plain = client.get(path)
        if len(plain.get_data()) < 1000:
            continue  # too small to be worth it (COMPRESS_MIN_SIZE)
        if plain.mimetype == "image/png":
            continue  # compressed already (the app icons)
        response = client.get(path, headers=chromium)
        assert response.headers.get("Content-Encoding") in {"zstd", "br", "gzip"}, path
        assert "Accept-Encoding" in response.headers.get("Vary", "")
        if len(plain.get_data()) >= 2000:  # a small file has less to squeeze
            assert len(response.get_data()) < len(plain.get_data()) / 2, path


def test_the_favicon_is_linked_so_browsers_never_ask_for_a_missing_one(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert re.search(r'<link rel="icon" href="/static/img/logo\.svg\?v=[0-9a-f]+" '
                     r'type="image/svg\+xml">', page)


def test_favicon_ico_leads_to_the_logo(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    logo = client.get(response.location)
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
