"""Domain signals. Senders never import their listeners, so data moves one way."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent inside the completing transaction, with `workout=`, once per workout.
workout_completed = _signals.signal("workout-completed")
#: Sent inside the editing transaction when a completed workout's figures change.
workout_changed = _signals.signal("workout-changed")
#: Sent inside the deleting transaction, after the row is gone, with `workout=`.
workout_deleted = _signals.signal("workout-deleted")
#: Sent inside the transaction that logs or edits a workout, after its row is
#: flushed, with `workout=` and `created=` (a new row): what hangs on its date and
#: time (its reminder) moves with it.
workout_saved = _signals.signal("workout-saved")
#: Sent inside an import's transaction, with `workout=`: a completed workout from a
#: file. Listeners keep their rows right and announce nothing.
workout_imported = _signals.signal("workout-imported")
