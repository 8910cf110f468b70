"""Database tables, one module per concern. Behaviour lives in `services/`; these classes
only describe rows.

Every table is importable from here (`from fitness_app.models import User`), and
importing this package registers them all on `db.metadata`, which migrations
and `db.create_all()` read.
"""

from fitness_app.models.accounts import Login, User, latest_notification_id
from fitness_app.models.common import GROWING_IDS, utcnow
from fitness_app.models.imports import ImportEntry, WorkoutImport, WorkoutTrack
from fitness_app.models.notifications import NOTIFICATION_KINDS, AnnouncementRead, Notification
from fitness_app.models.push import PushDevice
from fitness_app.models.reactions import Comment, CommentReport, Kudos
from fitness_app.models.schedule import DueItem
from fitness_app.models.social import Block, Follow
from fitness_app.models.training import (
    ACTIVITIES,
    VISIBILITIES,
    Achievement,
    Goal,
    PersonalRecord,
    Streak,
    Workout,
    WorkoutTotals,
    owner_default_visibility,
)

__all__ = [
    "ACTIVITIES", "GROWING_IDS", "NOTIFICATION_KINDS", "VISIBILITIES", "Achievement",
    "AnnouncementRead", "Block", "Comment", "CommentReport", "DueItem", "Follow", "Goal",
    "ImportEntry", "Kudos", "Login",
    "Notification", "PersonalRecord", "PushDevice", "Streak", "User", "Workout",
    "WorkoutImport", "WorkoutTotals", "WorkoutTrack", "latest_notification_id",
    "owner_default_visibility", "utcnow",
]
