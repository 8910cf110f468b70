"""Domain logic, grouped by where data flows.

- `training/`: workouts, goals and their rules, records, streaks, totals.
- `notifications/`: the notification path, from `notify` to the unit that
  commits and pushes, and everything that reads notifications back.
- `accounts/`: logins, passwords, reset mail, account changes and the export.
- `sql`, `timezones`, `preferences`, `units`: what every group reads
  (per-dialect SQL, zones, a user's today and mutes, km or miles); they import
  no group.

Groups import in one direction: accounts and training may use notifications;
notifications uses neither; every group may use the three shared modules and
`fitness_app.realtime`, never a blueprint or `fitness_app.sockets`.
"""
