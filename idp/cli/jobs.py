"""``idp jobs run``: the scheduled jobs (validity reminders, lapse of registrations, end of
accounts, back-channel logout retries), from cron on any number of instances."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from idp import metrics
from idp.cli.options import emit_json, moment, runtime
from idp.extensions import db
from idp.lifecycle.context import Links
from idp.lifecycle.jobs import run_jobs


@click.group("jobs", help="Scheduled jobs: reminders, lapse of registrations, expiry of accounts.")
def jobs_cli():
    pass


@jobs_cli.command("run")
@click.option("--as-of", "as_of", default=None, help="Run as at this date (00:00 UTC) or ISO datetime instead of now.")
@click.option("--dry-run", is_flag=True, help="List what would change, change nothing, send nothing.")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
def jobs_run(as_of, dry_run, batch_size, as_json):
    """Send due reminders (each once), lapse registrations not activated or verified in time, and
    end accounts whose validity ended (erasing their personal data). Safe on several instances at once."""
    rt = runtime()
    now = moment(as_of) or rt.now()
    say = (lambda line: None) if as_json else (lambda line: click.echo(f"… {line}", err=True))
    if not as_json:
        click.echo(f"jobs as of {now.isoformat()}{' (dry run: nothing changes)' if dry_run else ''}")
    report = run_jobs(
        db.session, now, rt.policy, rt.mailer, links=Links.under(rt.issuer), dry_run=dry_run, progress=say,
        batch_size=batch_size, logout=rt.logout,
    )
    if rt.settings.metrics.jobs_textfile and not dry_run:
        metrics.write_job_textfile(rt.settings.metrics.jobs_textfile, report.summary(), time.time())
    if as_json:
        out = report.summary()
        out["items"] = [vars(i) for i in report.items]
        out["failed_items"] = [vars(i) for i in report.failed]
        emit_json(out)
        return
    for item in report.items:
        click.echo(("would " if dry_run else "") + item.line())
    for item in report.failed:
        click.echo("FAILED  " + item.line())
    summary = report.summary()
    verb = "would be " if dry_run else ""
    click.echo(
        f"{summary['reminders']} reminder(s) {verb}sent, {summary['lapsed']} registration(s) {verb}lapsed, "
        f"{summary['expired']} account(s) {verb}expired; {summary['skipped']} taken by another run, "
        f"{summary['failed']} failed"
    )
    if report.interactions_purged:
        click.echo(f"{report.interactions_purged} unfinished sign-in(s) (interaction records) removed")
    if report.logout:
        click.echo("back-channel logout: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.logout.items())))
    if report.failed:
        raise click.exceptions.Exit(1)
