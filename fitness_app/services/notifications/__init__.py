"""The notification path: store, commit, push, and read back.

`store` writes a notification and its counter, `delivery` is the unit of work
that commits and then pushes, `payload` shapes the event and `links` decides
where it leads (the workouts list once its workout is deleted); `inbox`,
`unread_counts`, `read_marks`, `replay` and `badges` read and mark what was
stored. It may import the shared modules and `fitness_app.realtime`, never
`training` or `accounts`; of `social`, only `social.visibility` (models and
SQL, importing nothing of the services), so that `links` asks the one rule
whether a reader may still see what a notification leads to.
"""
