"""Redis clients from every URL form python-socketio's message queue accepts.

`redis://`, `rediss://` and `unix://` go to redis-py's `Redis.from_url`;
`valkey://` and `valkeys://` name a Valkey server, which speaks the same
protocol, so they become `redis://` and `rediss://`; `redis+sentinel://` and
`valkey+sentinel://` list Sentinels and are parsed by python-socketio's own
(public) parser, so both read a URL alike: the service name follows the
database number in the path, and without one the Socket.IO channel names it.
redis-py's `Redis.from_url` alone rejects the Sentinel forms.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis
from redis.sentinel import Sentinel
from socketio.redis_manager import parse_redis_sentinel_url

SENTINEL_SCHEMES = {"redis+sentinel", "valkey+sentinel"}
_VALKEY = {"valkey": "redis", "valkeys": "rediss"}


def connect(url: str, channel: str, **options: Any) -> redis.Redis:
    """A client for the server `url` names, with redis-py connection `options`.

    With Sentinel the client asks the Sentinels for the current master on
    every new connection, so it follows a failover; `channel` names the
    service when the URL does not.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in SENTINEL_SCHEMES:
        sentinels, service_name, url_options = parse_redis_sentinel_url(url)
        sentinel = Sentinel(sentinels, **{**options, **url_options})
        return sentinel.master_for(service_name or channel)
    if scheme in _VALKEY:
        url = _VALKEY[scheme] + url[len(scheme):]
    return redis.Redis.from_url(url, **options)
