"""Sign-in: ``POST /auth/token`` checks a password and issues an access token, with
failed attempts throttled in the database. It builds on ``keel.users`` (accounts,
password hashing, tokens, ``CurrentUser``), which never imports from here."""
