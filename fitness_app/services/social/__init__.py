"""Together: follows with approval, blocks, kudos, comments, reports, profiles, the feed.

`visibility` holds the one rule of who sees what (a workout, a comment, a
profile) as SQL that every read goes through; everything else here reads
through it. `kudos`, `comments` and `reports` hold the reactions to a
workout, each change one transaction with its counter and notifications.
It may import `fitness_app.services.notifications` (to notify),
the shared modules and `fitness_app.realtime`, never `training` or
`accounts` (they may import it: the export reads a user's follows, kudos and
comments through it).
"""
