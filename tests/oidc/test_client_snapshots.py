"""Clients kept per worker (issue 11): a change made in this process takes effect at once; one made
by another instance (here: straight in the database, as another process would) within
``database.client_snapshot_seconds``, measured on an injected clock, never later."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from idp.clients import service
from idp.clients.models import SUSPENDED, Client
from idp.clients.snapshots import ClientSnapshots
from idp.lifecycle import clients as client_verbs
from idp import audit

from ..support.factories import make_client
from ..support.flows import Agency


class FakeMonotonic:
    def __init__(self):
        self.value = 1000.0

    def __call__(self):
        return self.value


def elsewhere(db, client: Client, rt, **values) -> None:
    """Another instance changes the client: a Core UPDATE this process's ORM does not see."""
    db.session.execute(
        update(Client).where(Client.id == client.id).values(updated_at=rt.now() + timedelta(seconds=1), **values)
    )
    db.session.commit()


def test_a_suspension_elsewhere_takes_effect_within_the_recheck_time(rt, db):
    client, _ = make_client(rt)
    clock = FakeMonotonic()
    snapshots = ClientSnapshots(5, monotonic=clock)
    assert snapshots.find_active(db.session, client.client_id) is not None

    elsewhere(db, client, rt, status=SUSPENDED)
    clock.value += 4.9
    assert snapshots.find_active(db.session, client.client_id) is not None  # within the stated bound
    clock.value += 0.2
    assert snapshots.find_active(db.session, client.client_id) is None


def test_a_secret_rotated_elsewhere_stops_the_old_secret_within_the_recheck_time(rt, db):
    client, secret = make_client(rt)
    clock = FakeMonotonic()
    snapshots = ClientSnapshots(5, monotonic=clock)
    assert snapshots.find(db.session, client.client_id).check_client_secret(secret, rt.now())

    elsewhere(db, client, rt, secret_digest="0" * 64, previous_secret_digest=None)
    clock.value += 5.1
    snapshot = snapshots.find(db.session, client.client_id)
    assert not snapshot.check_client_secret(secret, rt.now())


def test_an_unchanged_client_is_checked_with_its_stamp_and_kept(rt, db):
    client, _ = make_client(rt)
    clock = FakeMonotonic()
    snapshots = ClientSnapshots(5, monotonic=clock)
    first = snapshots.find(db.session, client.client_id)
    clock.value += 60
    assert snapshots.find(db.session, client.client_id) is first


def test_a_change_in_this_process_drops_the_snapshots_at_once(rt, db):
    client, _ = make_client(rt)
    snapshots = ClientSnapshots(60, monotonic=FakeMonotonic())
    assert snapshots.find_active(db.session, client.client_id) is not None
    client_verbs.suspend(db.session, rt.now(), client, audit.Actor(audit.OPERATOR, "op"))
    assert snapshots.find_active(db.session, client.client_id) is None


def test_a_client_suspended_through_the_lifecycle_is_refused_at_the_token_endpoint_at_once(client, rt, citizen, db):
    c, secret = make_client(rt)
    agency = Agency(client, c, secret)
    citizen.signed_in_quickly()
    assert agency.exchange(agency.get_code()).status_code == 200  # the worker now keeps a snapshot
    code = agency.get_code()
    client_verbs.suspend(db.session, rt.now(), db.session.get(Client, c.id), audit.Actor(audit.OPERATOR, "op"))
    response = agency.exchange(code)
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_an_unknown_client_id_is_never_kept(rt, db):
    snapshots = ClientSnapshots(5, monotonic=FakeMonotonic())
    for n in range(3):
        assert snapshots.find(db.session, f"no-such-client-{n}") is None
    assert snapshots._entries == {}
    assert service.find(db.session, "no-such-client-0") is None
