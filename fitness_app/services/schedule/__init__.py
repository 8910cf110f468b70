"""What happens on time: workout reminders, goal nudges, weekly summaries, the daily digest.

Due work is rows in the database (`models.DueItem`), never timers in memory,
so a restart loses nothing:

- `clock`: local wall-clock times turned into UTC instants, DST-safe (pure);
- `plan`: writes, moves and removes a user's rows, in the caller's transaction
  (settings saved, a workout logged, edited, completed; deleting cascades);
- `loop`: the background task of each server process that claims due rows in
  batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers run
  each item once), drops what is over an hour late, and yields between batches;
- one module per kind that reads and decides, set-based, for a batch of
  claimed rows: `reminders`, `nudges`, `summaries`, `digest` (an email, not a
  notification); each hands the loop a `batch.Work`, which the loop stores in
  one go (`store.notify_many`) and commits.

It may import `fitness_app.services.training` (goals, totals),
`fitness_app.services.notifications` (`delivery` + `notify`, the inbox),
`fitness_app.services.accounts.mail`, the shared modules, and
`fitness_app.realtime.push.collector_paused` (a batch runs with the garbage
collector paused, as a fan-out does). Nothing in
`services/` imports it; it learns of workout changes from `fitness_app.signals`.
"""
