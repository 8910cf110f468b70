"""The matrix's classes of routes that show or act on a workout, a comment, a profile or
the feed: each checks every viewer against the rule of who sees what."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

from tests.privacy import (
    LEVELS,
    MISSING_ID,
    NON_OWNERS,
    SEES,
    SIGNED_IN,
    World,
    done_title,
    planned_title,
)
from tests.privacy_answers import (
    Problems,
    allowed,
    like_missing,
    signed_out,
)


@dataclass(frozen=True)
class ShowsWorkout:
    """Shows a workout named by id in the path: to whom the rule allows; a 404 to the rest."""

    path: str

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        missing = self.path.format(id=MISSING_ID)
        for level, (workout, title) in product(LEVELS, ((world.done, done_title),
                                                        (world.planned, planned_title))):
            real = self.path.format(id=workout[level])
            problems += signed_out(world, method, real, missing, None)
            for viewer in SIGNED_IN:
                if level in SEES[viewer]:
                    found, response = allowed(world, viewer, method, real, None, (200,))
                    page = response.get_data(as_text=True)
                    if not found and title(level) not in page:
                        found.append(f"{viewer} {method} {real}: no {title(level)!r}")
                    if not found and workout is world.done and 'class="route-map"' not in page:
                        found.append(f"{viewer} {method} {real}: no route drawn")
                    problems += found
                else:
                    problems += like_missing(world, viewer, method, real, missing)
        return problems


@dataclass(frozen=True)
class OwnersWorkout:
    """Acts on a workout by id, for its owner only: anyone else, even one who sees it, a 404.

    `planned`: aimed at the owner's planned workouts (completing one).
    """

    path: str
    data: dict[str, str] | None = None
    planned: bool = False

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        missing = self.path.format(id=MISSING_ID)
        targets = world.planned if self.planned else world.done
        for level in LEVELS:
            # A change is tried on a workout of its own, so a leak spoils no other check.
            target = targets[level] if method == "GET" else world.spare_workout(
                level, completed=not self.planned)
            real = self.path.format(id=target)
            problems += signed_out(world, method, real, missing, self.data)
            for viewer in NON_OWNERS:
                problems += like_missing(world, viewer, method, real, missing, self.data)
            spare = self.path.format(id=world.spare_workout(level, completed=not self.planned))
            problems += allowed(world, "owner", method, spare, self.data, (200, 302))[0]
            world.clients["owner"].get("/workouts/")  # reads the flash message
        return problems


@dataclass(frozen=True)
class ShowsProfile:
    """Shows a profile by username: a 404, as for a name nobody has, to whom the owner blocked;
    to anyone else the owner's workouts the rule lets them see (none to one who blocked
    the owner), on every page of the list.
    """

    path: str

    def check(self, world: World, method: str) -> Problems:
        real, missing = self.path.format(name="owner"), self.path.format(name="nobody")
        problems = signed_out(world, method, real, missing, None)
        for viewer in SIGNED_IN:
            if viewer == "blocked":
                problems += like_missing(world, viewer, method, real, missing)
                continue
            found, response = allowed(world, viewer, method, real, None, (200,))
            text = response.get_data(as_text=True)
            found += [f"{viewer} {method} {real}: no {done_title(level)!r}"
                      for level in SEES[viewer] if done_title(level) not in text]
            for cursor in world.levels:  # a hidden workout's id as the cursor tells nothing
                found += allowed(world, viewer, method, f"{real}?before={cursor}", None,
                                  (200,))[0]
            problems += found
        return problems


@dataclass(frozen=True)
class ActsOnProfile:
    """Acts on one's relation to the person named (follow, block…).

    `refused` get the answer of a name nobody has, and nothing changes; it is
    done, for the rest, by a new user (who first blocks the owner when
    `blocking_first`), so the matrix's relations stay as they are.
    """

    path: str
    refused: tuple[str, ...]
    blocking_first: bool = False

    def check(self, world: World, method: str) -> Problems:
        real, missing = self.path.format(name="owner"), self.path.format(name="nobody")
        problems = signed_out(world, method, real, missing, None)
        for viewer in self.refused:
            problems += like_missing(world, viewer, method, real, missing)
        name, client = world.spare_user()
        world.clients[name] = client
        if self.blocking_first:
            world.block(name, "owner")
        problems += allowed(world, name, method, real, None, (302,))[0]
        return problems


@dataclass(frozen=True)
class ShowsFeed:
    """Lists the visible workouts of the people one follows: the accepted follower sees the
    owner's they may see; nobody else anything of the owner's (a pending request, a block
    either way, or no follow at all), on every page of it, whatever `?before=` names.
    """

    path: str

    def check(self, world: World, method: str) -> Problems:
        problems = signed_out(world, method, self.path, self.path, None)
        for viewer in SIGNED_IN:
            sees = SEES[viewer] if viewer in ("owner", "follower") else frozenset()
            found, response = allowed(world, viewer, method, self.path, None, (200,),
                                       sees=sees)
            text = response.get_data(as_text=True)
            if viewer == "follower":
                found += [f"{viewer} {method} {self.path}: no {done_title(level)!r}"
                          for level in sees if done_title(level) not in text]
            for cursor in world.levels:
                found += allowed(world, viewer, method, f"{self.path}?before={cursor}",
                                  None, (200,), sees=sees)[0]
            problems += found
        return problems


@dataclass(frozen=True)
class ReactsToWorkout:
    """Reacts to a workout by id (kudos, a comment): whoever may see it may, the owner
    answered `owner`; anyone else gets a missing id's 404, and nothing changes.
    """

    path: str
    data: dict[str, str] | None = None
    owner: int = 303

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        missing = self.path.format(id=MISSING_ID)
        for level in LEVELS:
            real = self.path.format(id=world.spare_workout(level))
            problems += signed_out(world, method, real, missing, self.data)
            for viewer in SIGNED_IN:
                if viewer == "owner" or level in SEES[viewer]:
                    ok = (self.owner,) if viewer == "owner" else (303,)
                    problems += allowed(world, viewer, method, real, self.data, ok)[0]
                else:
                    problems += like_missing(world, viewer, method, real, missing, self.data)
        return problems


@dataclass(frozen=True)
class ActsOnComment:
    """Acts on a comment by id, written by the owner or by their follower on each of the
    owner's workouts: done for whom `may(viewer, author, level)`; for anyone else the
    404 of a missing id, and nothing changes. Each allowed act gets a comment of its own.
    """

    path: str
    may: Callable[[str, str, str], bool]
    data: dict[str, str] | None = None

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        missing = self.path.format(id=MISSING_ID)
        for level, author in product(LEVELS, ("owner", "follower")):
            workout = world.spare_workout(level)
            real = self.path.format(id=world.comment(author, workout))
            problems += signed_out(world, method, real, missing, self.data)
            for viewer in SIGNED_IN:
                if self.may(viewer, author, level):
                    mine = self.path.format(id=world.comment(author, workout))
                    problems += allowed(world, viewer, method, mine, self.data, (303,))[0]
                else:
                    problems += like_missing(world, viewer, method, real, missing, self.data)
        return problems


def may_delete(viewer: str, author: str, level: str) -> bool:
    """Its author (while they see it), the workout's owner, an admin."""
    return viewer in ("owner", "admin") or (viewer == author and level in SEES[viewer])


def may_report(viewer: str, author: str, level: str) -> bool:
    """Whoever sees it."""
    return level in SEES[viewer]
