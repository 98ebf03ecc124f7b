"""Payment reminders through Amazon SES (boto3 sesv2; imported on first use)."""

from __future__ import annotations

from typing import Any

from inboxfleet.billing.ports import Email, MailRejected

# SES answers that no retry mends: the address or the sender itself is refused.
REFUSED = frozenset(
    {"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException"}
)


class SesMailer:
    def __init__(
        self, sender: str, configuration_set: str | None = None, client: Any = None
    ) -> None:
        self._sender = sender
        self._configuration_set = configuration_set
        self._client = client

    def _ses(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # At most ~16 s per reminder: a worker record must fit in its time budget.
            config = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2})
            self._client = boto3.client("sesv2", config=config)
        return self._client

    def send(self, email: Email) -> None:
        request: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [email.to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                    },
                }
            },
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        from botocore.exceptions import ClientError

        try:
            self._ses().send_email(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in REFUSED:
                raise MailRejected(f"SES refused the reminder ({code})") from None
            raise
