"""Demo heroes and teams for ``keel db seed --demo``. Idempotent."""

from __future__ import annotations

from sqlmodel import Session, col, select

from keel.heroes.models import Hero, HeroTeamLink, Team
from keel_db import insert_rows

DEMO_TEAMS = [("Preventers", "Sharp Tower"), ("Z-Force", "Sister Margaret's Bar")]
# (name, secret name, age, [(team, is_training)])
DEMO_HEROES = [
    ("Deadpond", "Dive Wilson", None, [("Z-Force", False)]),
    ("Spider-Boy", "Pedro Parqueador", None, [("Preventers", True)]),
    ("Rusty-Man", "Tommy Sharp", 48, [("Preventers", False), ("Z-Force", True)]),
    ("Tarantula", "Natalia Roman-on", 32, [("Preventers", False)]),
]


def seed_demo(session: Session) -> int:
    """Teams, heroes and memberships that are missing; returns how many rows were added."""
    names = [name for name, _ in DEMO_TEAMS]
    have_teams = set(session.exec(select(Team.name).where(col(Team.name).in_(names))))
    added = insert_rows(
        session,
        Team,
        ({"name": n, "headquarters": hq} for n, hq in DEMO_TEAMS if n not in have_teams),
    )
    have_heroes = set(session.exec(select(Hero.name, Hero.secret_name)).all())
    added += insert_rows(
        session,
        Hero,
        (
            {"name": name, "secret_name": secret, "age": age}
            for name, secret, age, _ in DEMO_HEROES
            if (name, secret) not in have_heroes
        ),
    )
    teams = {name: team_id for team_id, name in session.exec(select(Team.id, Team.name))}
    heroes = {
        (name, secret): hero_id
        for hero_id, name, secret in session.exec(select(Hero.id, Hero.name, Hero.secret_name))
    }
    have_links = set(session.exec(select(HeroTeamLink.team_id, HeroTeamLink.hero_id)).all())
    links = [
        {"team_id": teams[team], "hero_id": heroes[(name, secret)], "is_training": training}
        for name, secret, _, memberships in DEMO_HEROES
        for team, training in memberships
        if (teams[team], heroes[(name, secret)]) not in have_links
    ]
    return added + insert_rows(session, HeroTeamLink, links)
