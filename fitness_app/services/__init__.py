"""Domain logic: what happens when a user logs, completes or edits a workout."""
