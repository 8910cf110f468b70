"""Accounts and sessions: logins, password hashing, reset mail, account changes, export.

It may import `fitness_app.services.notifications` (the export reads the
inbox) and the shared modules, never `training`.
"""
