"""E-mail to stewards: one message with a plain-text part (line breaks kept) and an HTML part (a table), sent through
the SMTP server an Apprise ``mailto://`` / ``mailtos://`` URL names.

Apprise reads the URL (host, port, TLS mode, login, sender, default recipients, and the presets of known providers);
the message itself is built here, because Apprise derives the plain part from the HTML one and loses the line breaks
and the links on the way.
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
import warnings
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from budgetwatch.errors import BudgetwatchError

with warnings.catch_warnings():  # apprise's PGP support imports imghdr, deprecated since Python 3.11
    warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
    from apprise.plugins.email import NotifyEmail

TIMEOUT = 30  # seconds for the SMTP conversation
_URL = re.compile(r"https?://[^\s<>\"'）)]+")


class MailError(BudgetwatchError):
    """The SMTP server did not take a message (names the server and the reason)."""


def _settings(url: str) -> NotifyEmail:
    parsed = NotifyEmail.parse_url(url)
    if not parsed:
        raise MailError(f"not an e-mail URL (mailto://host:port?from=…&to=…): {url.rsplit('@', maxsplit=1)[-1]}")
    return NotifyEmail(**parsed)


def message(url: str, recipient: str, subject: str, text: str, html_body: str | None = None) -> EmailMessage:
    """The message to ``recipient`` (the URL's own recipients when empty): plain text, and the HTML part when given."""
    settings = _settings(url)
    sender_name, sender = settings.from_addr
    to = [recipient] if recipient else [address for _, address in settings.targets]
    if not to:
        raise MailError(f"{settings.smtp_host}: no recipient (the URL names no to=, and the message none)")
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = formataddr((sender_name or "", sender)) if sender_name else sender
    mail["To"] = ", ".join(to)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(text)
    if html_body:
        mail.add_alternative(html_body, subtype="html")
    return mail


def send(url: str, mail: EmailMessage) -> None:
    """Hand ``mail`` to the URL's SMTP server (TLS and login as the URL says); MailError naming the server and why."""
    settings = _settings(url)
    host, port = settings.smtp_host, settings.port or (465 if settings.secure_mode == "ssl" else 25)
    where = f"SMTP server {host}:{port}"
    try:
        if settings.secure and settings.secure_mode == "ssl":
            client = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with client:
            if settings.secure and settings.secure_mode == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user and settings.password:
                client.login(settings.user, settings.password)
            client.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        reason = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        raise MailError(f"{where} refused the message: {exc.smtp_code} {reason}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{where}: {type(exc).__name__}: {exc or 'no answer'}") from exc


def text_as_html(text: str) -> str:
    """Plain text as an HTML part: the lines kept, the links made clickable."""
    escaped = html.escape(text)
    linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return f'<!DOCTYPE html><html><body><pre style="white-space: pre-wrap; font-family: sans-serif">{linked}</pre>' \
        "</body></html>"  # fmt: skip
