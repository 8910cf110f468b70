"""The training domain: workouts, goals and their pure rules, records, streaks, totals.

It owns the rows a person logs and what follows from them in the same
transaction (achievements, bests, streak rows, totals). It may import
`fitness_app.services.notifications` (to notify), `social.feed_items` (to tell
followers' open feeds of a completion, after the COMMIT) and the shared
modules, never `accounts`.
"""
