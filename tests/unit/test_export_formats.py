"""The exports for sequencers, pure: each format's columns, what goes in them, the file parsed back
with Python's csv module, and cells a spreadsheet would run as a formula escaped; the client
endpoints they carry are the mail server's published ports."""

from __future__ import annotations

import csv
import io
from datetime import date
from uuid import UUID

import pytest

from inboxfleet.api.credential_views import InboxCredentials, MailEndpoint
from inboxfleet.api.export_formats import (
    FORMULA_TRIGGERS,
    ExportFormat,
    filename,
    header,
    neutralised,
    render,
    sender_name,
)
from inboxfleet.mailu.config import CLIENT_ENDPOINTS, MAIL_PORTS, ClientEndpoint, _published

INBOX = UUID("3b0c1d52-8a7e-4f00-9c1a-2f4b1c0de101")
HOST = "mail.acme-outreach.example"


def credentials(address: str, password: str, inbox_id: UUID = INBOX) -> InboxCredentials:
    return InboxCredentials(
        id=inbox_id,
        address=address,
        username=address,
        password=password,
        smtp=MailEndpoint(host=HOST, port=587, security="starttls"),
        imap=MailEndpoint(host=HOST, port=993, security="tls"),
    )


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


# ---- the formats' columns ----------------------------------------------------------------


def test_every_format_has_its_columns() -> None:
    assert header(ExportFormat.CSV) == [
        "inbox_id",
        "address",
        "username",
        "password",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "imap_host",
        "imap_port",
        "imap_security",
    ]
    # Smartlead's bulk SMTP upload: its required columns, in its template's order.
    assert header(ExportFormat.SMARTLEAD) == [
        "from_name",
        "from_email",
        "user_name",
        "password",
        "smtp_host",
        "smtp_port",
        "imap_host",
        "imap_port",
    ]
    # Instantly's bulk IMAP/SMTP import: its required columns, in its template's order.
    assert header(ExportFormat.INSTANTLY) == [
        "Email",
        "First Name",
        "Last Name",
        "IMAP Username",
        "IMAP Password",
        "IMAP Host",
        "IMAP Port",
        "SMTP Username",
        "SMTP Password",
        "SMTP Host",
        "SMTP Port",
    ]


def test_our_csv_holds_every_setting_of_each_inbox() -> None:
    other = UUID("3b0c1d52-8a7e-4f00-9c1a-2f4b1c0de102")
    text = render(
        ExportFormat.CSV,
        [
            credentials("sales@acme.example", "Pw-1!abcdefg"),
            credentials("x@acme.example", "Q", other),
        ],
    )
    assert parsed(text) == [
        {
            "inbox_id": str(INBOX),
            "address": "sales@acme.example",
            "username": "sales@acme.example",
            "password": "Pw-1!abcdefg",
            "smtp_host": HOST,
            "smtp_port": "587",
            "smtp_security": "starttls",
            "imap_host": HOST,
            "imap_port": "993",
            "imap_security": "tls",
        },
        {
            "inbox_id": str(other),
            "address": "x@acme.example",
            "username": "x@acme.example",
            "password": "Q",
            "smtp_host": HOST,
            "smtp_port": "587",
            "smtp_security": "starttls",
            "imap_host": HOST,
            "imap_port": "993",
            "imap_security": "tls",
        },
    ]


def test_smartlead_gets_a_sender_name_and_one_login_for_smtp_and_imap() -> None:
    text = render(ExportFormat.SMARTLEAD, [credentials("john.doe@acme.example", "Secret#2024x")])
    assert parsed(text) == [
        {
            "from_name": "John Doe",
            "from_email": "john.doe@acme.example",
            "user_name": "john.doe@acme.example",
            "password": "Secret#2024x",
            "smtp_host": HOST,
            "smtp_port": "587",
            "imap_host": HOST,
            "imap_port": "993",
        }
    ]


def test_instantly_gets_first_and_last_name_and_both_logins() -> None:
    text = render(
        ExportFormat.INSTANTLY, [credentials("mary_ann-lee@acme.example", "Secret#2024x")]
    )
    assert parsed(text) == [
        {
            "Email": "mary_ann-lee@acme.example",
            "First Name": "Mary",
            "Last Name": "Ann Lee",
            "IMAP Username": "mary_ann-lee@acme.example",
            "IMAP Password": "Secret#2024x",
            "IMAP Host": HOST,
            "IMAP Port": "993",
            "SMTP Username": "mary_ann-lee@acme.example",
            "SMTP Password": "Secret#2024x",
            "SMTP Host": HOST,
            "SMTP Port": "587",
        }
    ]


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("sales@a.example", ("Sales", "")),
        ("john.doe@a.example", ("John", "Doe")),
        ("j.van.der.berg@a.example", ("J", "Van Der Berg")),
        ("team2@a.example", ("Team2", "")),
    ],
)
def test_a_sender_name_is_read_from_the_local_part(address: str, name: tuple[str, str]) -> None:
    assert sender_name(address) == name


@pytest.mark.parametrize("export_format", list(ExportFormat))
def test_a_file_without_inboxes_is_its_header_alone(export_format: ExportFormat) -> None:
    text = render(export_format, [])
    assert text == ",".join(f'"{name}"' for name in header(export_format)) + "\r\n"
    assert parsed(text) == []


@pytest.mark.parametrize("export_format", list(ExportFormat))
def test_cells_with_separators_quotes_and_line_breaks_read_back_as_they_were(
    export_format: ExportFormat,
) -> None:
    password = "a,b\"c\nd;e'f"
    [row] = parsed(render(export_format, [credentials("sales@acme.example", password)]))
    password_column = {
        ExportFormat.CSV: "password",
        ExportFormat.SMARTLEAD: "password",
        ExportFormat.INSTANTLY: "SMTP Password",
    }[export_format]
    assert row[password_column] == password


def test_lines_end_in_crlf_as_rfc_4180_has_them() -> None:
    text = render(ExportFormat.CSV, [credentials("sales@acme.example", "Pw-1!abcdefg")])
    assert text.count("\r\n") == 2
    assert "\n" not in text.replace("\r\n", "")


# ---- formula injection -------------------------------------------------------------------


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_a_cell_beginning_with_a_formula_character_is_prefixed_with_a_quote(trigger: str) -> None:
    assert neutralised(f"{trigger}1+2") == f"'{trigger}1+2"


@pytest.mark.parametrize(
    "cell", ["", "sales@acme.example", "mail.acme.example", "587", "a=b", "x-1"]
)
def test_other_cells_are_left_as_they_are(cell: str) -> None:
    assert neutralised(cell) == cell


def spreadsheet_cells(line: str, separator: str) -> list[str]:
    """A line cut into cells as a spreadsheet cuts it: at each separator outside double quotes
    (every quote toggles being inside them, so a doubled quote in a quoted cell stays in it)."""
    cells, cell, quoted = [], "", False
    for character in line:
        if character == '"':
            quoted = not quoted
        if character == separator and not quoted:
            cells.append(cell)
            cell = ""
        else:
            cell += character
    return [*cells, cell]


@pytest.mark.parametrize("export_format", list(ExportFormat))
def test_every_cell_is_quoted(export_format: ExportFormat) -> None:
    text = render(export_format, [credentials("sales@acme.example", "Password1x;=1+1")])
    for line in text.removesuffix("\r\n").split("\r\n"):
        cells = spreadsheet_cells(line, ",")
        assert len(cells) == len(header(export_format))
        assert all(len(cell) >= 2 and cell[0] == cell[-1] == '"' for cell in cells), line


@pytest.mark.parametrize("separator", [",", ";", "\t"])
@pytest.mark.parametrize("password", ["Password1x;=1+1", "Password1x\t@SUM(1)", "Pass,word;-1x"])
def test_no_cell_reads_as_a_formula_whatever_separator_the_spreadsheet_takes(
    separator: str, password: str
) -> None:
    """A spreadsheet in a locale whose separator is `;` (or one told to cut at tabs) cuts a
    line at that character: a separator inside a password must not start a cell of its own
    there, which a quoted cell guarantees."""
    for export_format in ExportFormat:
        text = render(export_format, [credentials("sales@acme.example", password)])
        for line in text.removesuffix("\r\n").split("\r\n"):
            cells = [cell.strip('"') for cell in spreadsheet_cells(line, separator)]
            assert not [cell for cell in cells if cell.startswith(FORMULA_TRIGGERS)], line
        [row] = parsed(text)
        assert password in row.values()


def test_the_formula_characters_are_owasps() -> None:
    assert set(FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}


@pytest.mark.parametrize("export_format", list(ExportFormat))
def test_every_cell_of_every_format_is_escaped(export_format: ExportFormat) -> None:
    formula = '=HYPERLINK("http://evil.example","x")'
    [row] = parsed(render(export_format, [credentials("sales@acme.example", formula)]))
    password_cells = [value for name, value in row.items() if "assword" in name]
    assert password_cells
    assert all(value == "'" + formula for value in password_cells)
    # No cell of the file begins with a formula character.
    assert not [value for value in row.values() if value.startswith(FORMULA_TRIGGERS)]


def test_the_file_is_named_by_format_and_day() -> None:
    assert filename(ExportFormat.SMARTLEAD, date(2026, 11, 5)) == "inboxes-smartlead-2026-11-05.csv"


# ---- the endpoints are the mail server's ---------------------------------------------------


def test_clients_connect_to_submission_with_starttls_and_imap_over_tls() -> None:
    assert dict(CLIENT_ENDPOINTS) == {
        "smtp": ClientEndpoint("smtp", 587, "starttls"),
        "imap": ClientEndpoint("imap", 993, "tls"),
    }
    assert all(endpoint.port in MAIL_PORTS for endpoint in CLIENT_ENDPOINTS.values())


def test_an_endpoint_on_a_port_the_server_does_not_publish_is_refused() -> None:
    with pytest.raises(ValueError, match="does not publish"):
        _published(ClientEndpoint("imap", 143, "starttls"))
