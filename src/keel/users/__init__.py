"""Users and their profiles: sign-up, self-service and admin management; and who
is calling (``dependencies``: ``CurrentUser``, ``AdminUser``), with the password
hashing and access tokens that need. The lower of users and ``keel.auth``: sign-in
imports from here, never the other way round."""
