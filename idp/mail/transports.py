"""SMTP, file and console transports behind one protocol."""

from __future__ import annotations

import os
import smtplib
import ssl
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from idp.settings import MailSettings


@dataclass(frozen=True)
class Envelope:
    """One message as the outbox hands it to a transport."""

    id: int
    created_at: datetime
    template: str
    recipient: str
    locale: str
    subject: str
    body_text: str
    body_html: str

    @property
    def message_id(self) -> str:
        return f"<outbox-{self.id}.{int(self.created_at.timestamp())}@idp>"


class Transport(Protocol):
    def send(self, message: Envelope) -> None: ...


def build_email(message: Envelope, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    email["Content-Language"] = message.locale
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    return email


class SmtpTransport:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, message: Envelope) -> None:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        with smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(build_email(message, s.from_address))


class FileTransport:
    """One .eml file per message, written atomically (development default)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.directory = Path(settings.outbox_dir)

    def send(self, message: Envelope) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{message.created_at:%Y%m%d-%H%M%S}-{message.id:06d}-{message.template}.eml"
        data = bytes(build_email(message, self.settings.from_address))
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, self.directory / name)


class ConsoleTransport:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, message: Envelope) -> None:
        sys.stdout.write(build_email(message, self.settings.from_address).as_string() + "\n")
        sys.stdout.flush()


def make_transport(settings: MailSettings) -> Transport:
    transports: dict[str, Callable[[MailSettings], Transport]] = {
        "smtp": SmtpTransport,
        "file": FileTransport,
        "console": ConsoleTransport,
    }
    return transports[settings.transport](settings)
