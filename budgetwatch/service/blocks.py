"""budgetwatch's own Prefect block types, registered through the ``prefect.collections`` entry point so that the
Prefect server can load them too (an automation's notification action builds the block on the server)."""

from __future__ import annotations

from prefect._internal.compatibility.async_dispatch import async_dispatch
from prefect.blocks.abstract import NotificationError
from prefect.blocks.notifications import AppriseNotificationBlock
from prefect.utilities.asyncutils import run_sync_in_worker_thread

from budgetwatch.publish import mail


class StewardEmail(AppriseNotificationBlock):
    """E-mail through an SMTP server, as an Apprise ``mailto://`` (or ``mailtos://``) URL; ``to`` is the default
    recipient, replaced by the steward's address for each steward's message. A notice (a failed run) is sent with its
    lines kept in both the plain and the HTML part, its links clickable."""

    _block_type_name = "budgetwatch e-mail"
    _block_type_slug = "budgetwatch-e-mail"

    def _send(self, body: str, subject: str | None) -> None:
        url = self.url.get_secret_value()
        try:
            mail.send(url, mail.message(url, "", subject or "budgetwatch", body, mail.text_as_html(body)))
        except mail.MailError as exc:
            if self._raise_on_failure:
                raise NotificationError(log=str(exc)) from exc

    async def anotify(self, body: str, subject: str | None = None) -> None:
        await run_sync_in_worker_thread(self._send, body, subject)

    @async_dispatch(anotify)
    def notify(self, body: str, subject: str | None = None) -> None:
        self._send(body, subject)
