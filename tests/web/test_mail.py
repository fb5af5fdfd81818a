"""Mail: the outbox and a real SMTP server (aiosmtpd on loopback: plain, STARTTLS, implicit TLS,
AUTH), the templates in Hungarian and English, and the ``[mail]`` settings."""

from __future__ import annotations

import logging
import socket
import stat
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

import jinja2
import pytest

from idp.clock import FixedClock
from idp.mail import (
    MailError,
    MailTemplates,
    Message,
    OutboxMailer,
    SmtpMailer,
    build_mailer,
    list_outbox,
    read_outbox,
)
from idp.mail.message import masked
from idp.settings import SettingsError, build_settings, example_toml

from ..support.smtp import SmtpServer, find_code, make_ca

SENDER = "Ügyfélkapu <ugyfelkapu@idp.example.gov.hu>"
CITIZEN = "arvizturo.tukorfurogep@example.hu"
NAME = "Árvíztűrő Tükörfúrógép"  # every Hungarian accented letter, family name first
CODE = "K7QP-4M2X"
NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
SMTP_USER, SMTP_PASSWORD = "idp-mailer", "correct horse battery staple"

CONTEXTS = {
    "activation_code": {"name": NAME, "code": CODE, "valid_until": datetime(2026, 1, 20, 9, 0, tzinfo=UTC),
                        "activation_url": "https://idp.example.gov.hu/activate"},
    "registration_completed": {"name": NAME, "valid_until": datetime(2031, 1, 15, tzinfo=UTC)},
    "validity_reminder": {"name": NAME, "valid_until": date(2031, 1, 15), "extend_url": "https://idp.example.gov.hu/extend"},
    "data_changed": {"name": NAME, "office": "Budapest V. kerületi Kormányablak",
                     "changed_fields": ["family_name", "address_street", "address_locality"], "when": NOW},
    "account_deleted": {"name": NAME, "office": "Budapest V. kerületi Kormányablak", "when": NOW},
    "account_lapsed": {"name": NAME, "activation_days": 5},
    "account_expired": {"name": NAME, "valid_until": date(2031, 1, 15)},
    "password_changed": {"name": NAME, "when": NOW},
    "second_factor_code": {"name": NAME, "code": "042917", "valid_until": datetime(2026, 1, 15, 9, 10, tzinfo=UTC)},
    "second_factor_changed": {"name": NAME, "change": "method_changed", "method": "email", "when": NOW},
    "recovery_link": {"name": NAME, "url": "https://idp.example.gov.hu/recover/abc", "valid_until": NOW},
    "recovery_activation": {"name": NAME, "awaiting": True, "activation_url": "https://idp.example.gov.hu/activate",
                            "sign_in_url": "https://idp.example.gov.hu/login"},
    "recovery_office": {"name": NAME, "verify": False},
    "security_notice": {"name": NAME, "event": "new_device", "when": NOW, "browser": "Firefox 128", "system": "Windows",
                        "address": "192.0.2.1", "password_url": "https://idp.example.gov.hu/account/password",
                        "recovery_url": "https://idp.example.gov.hu/recover"},
}


def activation(mailer, to=CITIZEN, locale="hu") -> str:
    return mailer.send_template(to, "activation_code", locale, **CONTEXTS["activation_code"])


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("mail-tls"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


# The outbox ------------------------------------------------------------------------------------


def test_outbox_writes_each_mail_as_an_eml_file_only_the_owner_can_read(tmp_path, clock):
    folder = tmp_path / "instance" / "outbox"
    mailer = OutboxMailer(folder, SENDER, clock=clock)
    activation(mailer)
    activation(mailer)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    assert b"\r\nMessage-ID: <" in files[0].read_bytes()  # RFC 5322: CRLF line ends


def test_outbox_lists_newest_first_and_reads_a_mail_back(tmp_path, clock):
    mailer = OutboxMailer(tmp_path, SENDER, clock=clock)
    first = activation(mailer)
    mailer.send_template("other@example.hu", "password_changed", "en", **CONTEXTS["password_changed"])

    entries = list_outbox(tmp_path)
    assert [e.to for e in entries] == ["other@example.hu", CITIZEN]
    assert [e.subject for e in list_outbox(tmp_path, to=CITIZEN.upper())] == ["Ügyfélkapu – aktiváló kód"]
    mail = read_outbox(tmp_path, entries[1].name)
    assert mail.message_id == first and mail.locale == "hu" and mail.date == NOW
    assert NAME in mail.text and find_code(mail.text) == CODE
    assert mail.html is not None and CODE in mail.html


def test_outbox_log_names_a_masked_recipient_and_the_subject_but_never_the_body(tmp_path, clock, caplog):
    caplog.set_level(logging.DEBUG)
    activation(OutboxMailer(tmp_path, SENDER, clock=clock))
    records = [r for r in caplog.records if r.name.startswith("idp")]
    assert len(records) == 1
    line = records[0].getMessage()
    assert masked(CITIZEN) in line and "Ügyfélkapu – aktiváló kód" in line
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert CODE not in everything and NAME not in everything and CITIZEN not in everything


@pytest.mark.parametrize("name", ["../outbox.eml", "notes.txt", "20260115T090000.000000000Z-0123abcd.eml"])
def test_outbox_reads_only_its_own_mail_by_name(tmp_path, clock, name):
    activation(OutboxMailer(tmp_path / "outbox", SENDER, clock=clock))
    (tmp_path / "outbox.eml").write_text("not in the outbox")
    with pytest.raises(MailError) as caught:
        read_outbox(tmp_path / "outbox", name)
    assert caught.value.reason == "outbox_message_not_found"


def test_an_outbox_that_was_never_written_is_empty(tmp_path):
    assert list_outbox(tmp_path / "absent") == []


def test_a_recipient_with_a_header_injection_is_refused():
    with pytest.raises(MailError) as caught:
        Message(to=f"{CITIZEN}\r\nBcc: spy@example.com", subject="x", text="x")
    assert caught.value.reason == "mail_invalid_address"


# SMTP --------------------------------------------------------------------------------------------


def smtp_mailer(server, tls=None, clock=None, **overrides) -> SmtpMailer:
    options = {"port": server.port, "security": server.security, "timeout": 5, "clock": clock}
    if tls is not None:
        options["ca_file"] = tls.ca_file
    options.update(overrides)
    return SmtpMailer(server.host, SENDER, **options)


def test_smtp_delivers_a_utf8_mail_with_the_standard_headers(clock):
    with SmtpServer() as server:
        message_id = activation(smtp_mailer(server, clock=clock))
        received = server.wait_for(to=CITIZEN)
    mail = received.message
    assert received.mail_from == "ugyfelkapu@idp.example.gov.hu" and received.rcpt_tos == [CITIZEN]
    assert mail["From"].addresses[0].display_name == "Ügyfélkapu"
    assert mail["To"] == CITIZEN and mail["Subject"] == "Ügyfélkapu – aktiváló kód"
    assert parsedate_to_datetime(mail["Date"]) == NOW
    assert mail["Message-ID"] == message_id and message_id.endswith("@idp.example.gov.hu>")
    assert mail["Content-Language"] == "hu" and mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_charset() for p in mail.iter_parts()] == ["utf-8", "utf-8"]
    assert received.raw.isascii()  # quoted-printable: passes any relay
    assert f"Tisztelt {NAME}!" in received.text() and find_code(received.text()) == CODE


def test_smtp_starttls_trusts_the_configured_private_ca_and_authenticates(tls):
    with SmtpServer(security="starttls", tls=tls, users={SMTP_USER: SMTP_PASSWORD}) as server:
        activation(smtp_mailer(server, tls, username=SMTP_USER, password=SMTP_PASSWORD))
        received = server.wait_for(to=CITIZEN)
    assert received.tls and received.login == SMTP_USER
    assert find_code(received.text()) == CODE


def test_smtp_over_implicit_tls_delivers(tls):
    with SmtpServer(security="tls", tls=tls, users={SMTP_USER: SMTP_PASSWORD}) as server:
        activation(smtp_mailer(server, tls, username=SMTP_USER, password=SMTP_PASSWORD))
        received = server.wait_for(to=CITIZEN)
    assert received.tls and received.login == SMTP_USER


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_smtp_authenticates_with_the_mechanism_the_server_offers(tls, mechanism):
    users = {SMTP_USER: SMTP_PASSWORD}
    with SmtpServer(security="starttls", tls=tls, users=users, mechanisms=(mechanism,)) as server:
        activation(smtp_mailer(server, tls, username=SMTP_USER, password=SMTP_PASSWORD))
        assert server.wait_for(to=CITIZEN).login == SMTP_USER


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_a_wrong_smtp_password_is_a_mail_error_that_never_logs_the_password(tls, caplog, security):
    caplog.set_level(logging.DEBUG, logger="idp")
    with SmtpServer(security=security, tls=tls, users={SMTP_USER: SMTP_PASSWORD}) as server:
        with pytest.raises(MailError) as caught:
            activation(smtp_mailer(server, tls, username=SMTP_USER, password="wrong-password-123"))
        assert server.received == []
    assert caught.value.reason == "mail_auth_failed"
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("idp"))
    assert "mail_auth_failed" in ours and "wrong-password-123" not in ours and CODE not in ours


def test_starttls_refuses_a_certificate_from_an_untrusted_ca(tls):
    with SmtpServer(security="starttls", tls=tls) as server:
        with pytest.raises(MailError) as caught:
            activation(smtp_mailer(server))  # the system's CAs only: the test CA is not among them
        assert server.received == []
    assert caught.value.reason == "mail_tls_failed"


def test_starttls_is_never_downgraded_to_plain_text(tls):
    with SmtpServer() as server:  # offers no STARTTLS
        with pytest.raises(MailError) as caught:
            activation(smtp_mailer(server, tls, security="starttls"))
        assert server.received == []
    assert caught.value.reason == "mail_tls_failed"


def test_a_recipient_the_server_refuses_is_mail_rejected():
    with SmtpServer(refuse_recipients=(CITIZEN,)) as server:
        with pytest.raises(MailError) as caught:
            activation(smtp_mailer(server))
    assert caught.value.reason == "mail_rejected"


def test_a_server_that_is_not_there_is_mail_unavailable():
    with SmtpServer() as server:
        port = server.port
    with pytest.raises(MailError) as caught:
        activation(SmtpMailer("127.0.0.1", SENDER, port=port, security="none", timeout=2))
    assert caught.value.reason == "mail_unavailable"


def test_a_server_that_never_answers_times_out_as_mail_unavailable():
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        mailer = SmtpMailer("127.0.0.1", SENDER, port=silent.getsockname()[1], security="none", timeout=0.5)
        with pytest.raises(MailError) as caught:
            activation(mailer)
    assert caught.value.reason == "mail_unavailable"


# Settings → mailer ---------------------------------------------------------------------------------

PRODUCTION = {
    "server": {"issuer": "https://idp.example.gov.hu", "secret_key": "k" * 40},
    "keys": {"passphrase": "p" * 20},
    "security": {"pairwise_secret": "s" * 40},
}


def mail_settings(environ=None, **mail):
    return build_settings({**PRODUCTION, "mail": mail}, environ).validate()


def test_the_configured_smtp_server_receives_the_mail_in_the_citizen_s_language(tls, clock):
    with SmtpServer(security="starttls", tls=tls, users={SMTP_USER: SMTP_PASSWORD}) as server:
        settings = mail_settings(
            {"IDP_MAIL_SMTP_PASSWORD": SMTP_PASSWORD},
            backend="smtp", smtp_host=server.host, smtp_port=server.port, smtp_security="starttls",
            smtp_ca_file=str(tls.ca_file), smtp_username=SMTP_USER,
        )
        mailer = build_mailer(settings.mail, clock=clock)
        activation(mailer, locale="en")
        activation(mailer, to="nyelv@example.hu", locale="de")  # no German: Hungarian
        english, fallback = server.wait_for(to=CITIZEN), server.wait_for(to="nyelv@example.hu")
    assert english.message["Subject"] == "Ügyfélkapu – your activation code"
    assert english.message["Content-Language"] == "en" and "20 January 2026, 10:00" in english.text()
    assert fallback.message["Content-Language"] == "hu" and "2026. január 20. 10:00" in fallback.text()


def test_the_outbox_is_the_default_backend_under_instance(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mailer = build_mailer(mail_settings().mail)
    assert isinstance(mailer, OutboxMailer) and mailer.folder == tmp_path / "instance" / "outbox"


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("tls", 465), ("none", 25)])
def test_the_smtp_port_defaults_to_the_security_mode_s_own(security, port):
    mailer = build_mailer(mail_settings(backend="smtp", smtp_host="127.0.0.1", smtp_security=security).mail)
    assert isinstance(mailer, SmtpMailer) and mailer.port == port
    assert SMTP_PASSWORD not in repr(mailer)


@pytest.mark.parametrize(
    ("mail", "key"),
    [
        ({"backend": "sendmail"}, "mail.backend"),
        ({"backend": "smtp"}, "mail.smtp_host"),
        ({"backend": "smtp", "smtp_host": "mail.gov.hu", "smtp_security": "ssl"}, "mail.smtp_security"),
        ({"backend": "smtp", "smtp_host": "mail.gov.hu", "smtp_security": "none"}, "mail.smtp_security"),
        ({"backend": "smtp", "smtp_host": "mail.gov.hu", "smtp_port": 70000}, "mail.smtp_port"),
        ({"backend": "smtp", "smtp_host": "mail.gov.hu", "smtp_timeout_seconds": 0}, "mail.smtp_timeout_seconds"),
        ({"backend": "smtp", "smtp_host": "mail.gov.hu", "smtp_username": "idp"}, "mail.smtp_password"),
        ({"backend": "smtp", "smtp_host": "mail.gov.hu", "smtp_password": "pw"}, "mail.smtp_username"),
        ({"backend": "smtp", "smtp_host": "mail.gov.hu", "smtp_ca_file": "/nonexistent/ca.pem"}, "mail.smtp_ca_file"),
        ({"from_address": "Ügyfélkapu"}, "mail.from_address"),
        ({"from_address": "a@gov.hu\r\nBcc: spy@example.com"}, "mail.from_address"),
        ({"timezone": "Europe/Atlantis"}, "mail.timezone"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_unsafe_mail_setting_refuses_to_start_naming_the_key(mail, key):
    with pytest.raises(SettingsError) as caught:
        mail_settings(**mail)
    assert caught.value.key == key


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_plain_smtp_is_allowed_only_to_a_loopback_relay(host):
    assert mail_settings(backend="smtp", smtp_host=host, smtp_security="none").mail.smtp_security == "none"


def test_the_smtp_password_is_a_secret_from_the_environment():
    settings = mail_settings({"IDP_MAIL_SMTP_PASSWORD": "from-env"}, backend="smtp", smtp_host="mail.gov.hu",
                             smtp_username="idp")
    assert settings.mail.smtp_password == "from-env"
    assert "# Secret: prefer the environment variable IDP_MAIL_SMTP_PASSWORD." in example_toml()


# Templates -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def templates():
    return MailTemplates()


def test_every_mail_exists_in_hungarian_and_english(templates):
    assert templates.names() == sorted(CONTEXTS)
    for name in CONTEXTS:
        for suffix in ("txt", "html"):
            hu, en = (templates.directory / f"{name}.{lang}.{suffix}" for lang in ("hu", "en"))
            assert hu.is_file() == en.is_file(), f"{name}.{suffix} exists in one language only"
        assert (templates.directory / f"{name}.en.txt").is_file()


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_every_mail_renders_with_its_context_with_a_subject_per_language(templates, name):
    hu = templates.render(name, "hu", **CONTEXTS[name])
    en = templates.render(name, "en", **CONTEXTS[name])
    assert hu.subject != en.subject and hu.subject.startswith("Ügyfélkapu")
    assert hu.text.startswith(f"Tisztelt {NAME}!") and en.text.startswith(f"Dear {NAME},")
    assert "Subject:" not in hu.text and "{{" not in hu.text + en.text
    if hu.html is not None:
        assert '<html lang="hu">' in hu.html and '<html lang="en">' in en.html


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_no_mail_shows_a_password_even_when_given_one(templates, name):
    for locale in ("hu", "en"):
        rendered = templates.render(name, locale, password="Titkos-Jelszo-42", initial_password="Kezdeti-99",
                                    **CONTEXTS[name])
        assert "Titkos-Jelszo-42" not in str(rendered) and "Kezdeti-99" not in str(rendered)


@pytest.mark.parametrize("locale", ["de", "", None])
def test_an_unknown_language_falls_back_to_hungarian(templates, locale):
    assert templates.render("password_changed", locale, **CONTEXTS["password_changed"]) == templates.render(
        "password_changed", "hu", **CONTEXTS["password_changed"]
    )
    assert templates.compose("password_changed", CITIZEN, locale, **CONTEXTS["password_changed"]).locale == "hu"


def test_html_is_autoescaped_and_text_is_not(templates):
    context = {**CONTEXTS["activation_code"], "name": "<script>x</script> Kovács"}
    rendered = templates.render("activation_code", "hu", **context)
    assert "&lt;script&gt;x&lt;/script&gt; Kovács" in rendered.html and "<script>" not in rendered.html
    assert "Tisztelt <script>x</script> Kovács!" in rendered.text


def test_a_missing_context_value_is_an_error_not_a_blank(templates):
    context = {k: v for k, v in CONTEXTS["activation_code"].items() if k != "code"}
    with pytest.raises(jinja2.UndefinedError):
        templates.render("activation_code", "hu", **context)


def test_dates_are_written_the_language_s_way_in_the_configured_time_zone():
    context = {**CONTEXTS["password_changed"], "when": datetime(2026, 7, 1, 22, 30, tzinfo=UTC)}
    budapest = MailTemplates(timezone="Europe/Budapest")
    assert "2026. július 2. 00:30" in budapest.render("password_changed", "hu", **context).text
    assert "2 July 2026, 00:30" in budapest.render("password_changed", "en", **context).text
    assert "1 July 2026, 22:30" in MailTemplates(timezone="UTC").render("password_changed", "en", **context).text


def test_a_data_change_names_each_changed_datum_once_without_its_value(templates):
    hu = templates.render("data_changed", "hu", **CONTEXTS["data_changed"]).text
    en = templates.render("data_changed", "en", **CONTEXTS["data_changed"]).text
    assert hu.count("– lakcím") == 1 and "– családi név" in hu
    assert en.count("– home address") == 1 and "– family name" in en


def test_the_validity_reminder_speaks_of_the_password_under_the_2009_rule(templates):
    context = {**CONTEXTS["validity_reminder"], "kind": "password", "grace_days": 60}
    hu = templates.render("validity_reminder", "hu", **context)
    assert hu.subject == "Ügyfélkapu – hamarosan lejár a jelszava" and "60 napon belül" in hu.text
    assert "kormányablakot" in hu.text and "60 days" in templates.render("validity_reminder", "en", **context).text
