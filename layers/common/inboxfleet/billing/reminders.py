"""The payment-failed reminder email (pure): what failed, which attempt, when Stripe retries,
and the link where the customer pays."""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal

from inboxfleet.billing.ports import Email
from inboxfleet.records import InvoiceSnapshot

# Currencies Stripe counts in whole units (no minor unit); every other one has two decimals,
# except the three-decimal ones below.
_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv"}
    | {"xaf", "xof", "xpf"}
)
_THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def format_amount(minor_units: int, currency: str) -> str:
    code = currency.lower()
    exponent = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    value = Decimal(minor_units).scaleb(-exponent)
    return f"{value:,.{exponent}f} {code.upper()}"


def format_date(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment:%Y at %H:%M} UTC"


def payment_failed_email(to: str, company: str | None, invoice: InvoiceSnapshot) -> Email:
    amount = format_amount(invoice.amount_due - invoice.amount_paid, invoice.currency)
    attempt = invoice.attempt_count
    retry = (
        f"We will try again on {format_date(invoice.next_payment_attempt)}."
        if invoice.next_payment_attempt
        else "No further automatic attempt is scheduled."
    )
    link = invoice.hosted_invoice_url
    pay = (
        f"Pay or update your payment method here: {link}"
        if link
        else "Please update your payment method."
    )
    greeting = f"Hello {company}," if company else "Hello,"
    lines = [
        greeting,
        "",
        f"We could not collect the payment of {amount} for invoice {invoice.invoice_id} "
        f"(attempt {attempt}).",
        retry,
        pay,
        "",
        "Your inboxes keep running while we retry; they are suspended if the invoice stays "
        "unpaid after the last attempt.",
        "",
        "— inboxfleet billing",
    ]
    text = "\n".join(lines)
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    if link:
        anchor = f'<a href="{html.escape(link, quote=True)}">{html.escape(link)}</a>'
        body = body.replace(html.escape(link), anchor, 1)
    return Email(
        to=to,
        subject=f"Payment failed: {amount} for invoice {invoice.invoice_id} (attempt {attempt})",
        text=text,
        html=f"<html><body>{body}</body></html>",
    )
