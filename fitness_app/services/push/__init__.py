"""Web Push: notifications reach devices whose tab is closed, once per device.

- `keys`: the VAPID key pair (from VAPID_PRIVATE_KEY, or made once into
  `instance/`) and the subject push services may write to.
- `devices`: subscriptions as devices of a login session: checks on what a
  browser sends (the endpoint must be a known push service), storing,
  listing, removing; the login's end removes them by ON DELETE CASCADE.
- `policy`: pure rules: one message per group of a delivery unit, what its
  payload says and how it is shortened, which devices get it.
- `sender`: the bounded queue and the pool of real OS threads that encrypt
  and send with pywebpush, retries with backoff, and what each answer means.
- `fanout`: what the delivery unit hands over after COMMIT, and broadcasts
  to every device in batches that yield.
- `workers`: the bounded queue and its self-stopping dispatchers.

It may import `fitness_app.realtime` (presence: which devices have a socket),
the models and the shared modules; `notifications` calls it, never the other
way, and it imports neither `training` nor `accounts`.
"""
