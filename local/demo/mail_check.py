"""The inboxes used as their owner uses them: the login read from the API, a message submitted
over SMTP (587, STARTTLS, AUTH) from one inbox to another, the same message found over IMAP
(993, TLS) by its recipient, and a wrong password refused. The mail host's name is resolved
through the local DNS, its certificate checked against the local CA."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.demo.story import Story

FIND_DEADLINE_S = 30.0
SUBJECT = "Hello from inboxfleet"


@dataclass(frozen=True)
class MailTrial:
    sender: str
    recipient: str
    found: bool  # the message came back over IMAP as it was sent
    wrong_password_refused: bool

    @property
    def ok(self) -> bool:
        return self.found and self.wrong_password_refused


def try_the_mailboxes(story: Story, active: list[str]) -> MailTrial:
    from local.mail_client import LoginRefused, MailAccount, MailRoute, find, send

    view, you, cloud = story.view, story.you(), story.cloud
    sender = active[0]
    domain = sender.split("@", 1)[1]
    # Another inbox on the same server if there is one: the simulated Mailu delivers locally.
    recipient = next((a for a in active[1:] if a.endswith(f"@{domain}")), sender)
    view.heading("The tenant reads its logins from the API and uses them")
    logins: dict[str, dict[str, Any]] = {}
    for address in dict.fromkeys((sender, recipient)):
        login = you.credentials(story.inboxes[address])
        logins[address] = login
        smtp, imap = login["smtp"], login["imap"]
        view.say(
            f"GET /v1/inboxes/{{id}}/credentials -> {login['username']}, a "
            f"{len(login['password'])}-character password, SMTP {smtp['host']}:{smtp['port']} "
            f"{smtp['security']}, IMAP {imap['host']}:{imap['port']} {imap['security']}"
        )
    route = MailRoute(cloud.dns.resolver.address, cloud.hostwinds.address_book_url)
    out, into = logins[sender], logins[recipient]
    smtp_host, imap_host = out["smtp"]["host"], into["imap"]["host"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = SUBJECT
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content("Sent over SMTP submission, found over IMAP: this inbox works.\n")
    ip = route.address_of(smtp_host)
    message_id = send(route, MailAccount(smtp_host, sender, out["password"]), message)
    view.say(
        f"SMTP {smtp_host}:{out['smtp']['port']} ({ip} in DNS): STARTTLS, certificate for "
        f"{smtp_host} verified, AUTH as {sender} -> accepted for {recipient}"
    )
    account = MailAccount(imap_host, recipient, into["password"])
    found = find(route, account, message_id, deadline_s=FIND_DEADLINE_S)
    view.say(
        f"IMAP {imap_host}:{into['imap']['port']} (TLS): LOGIN as {recipient} -> found "
        f'"{found["Subject"]}" from {found["From"]}, {message_id}'
    )
    try:
        send(route, MailAccount(smtp_host, sender, "not-the-password"), message)
    except LoginRefused as exc:
        view.say(f"SMTP AUTH with a wrong password -> refused ({str(exc).split(': ', 1)[-1]})")
        refused = True
    else:
        view.say("SMTP AUTH with a wrong password was let in: that is a bug")
        refused = False
    return MailTrial(sender, recipient, found["Subject"] == SUBJECT, refused)
