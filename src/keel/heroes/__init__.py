"""A shared catalogue of heroes and teams: anyone reads, signed-in users write.
Membership is many-to-many with data (``is_training``)."""
