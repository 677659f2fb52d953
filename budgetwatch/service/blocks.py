"""budgetwatch's own Prefect block types, registered through the ``prefect.collections`` entry point so that the
Prefect server can load them too (an automation's notification action builds the block on the server)."""

from __future__ import annotations

from prefect.blocks.notifications import AppriseNotificationBlock


class StewardEmail(AppriseNotificationBlock):
    """E-mail through an SMTP server, as an Apprise ``mailto://`` (or ``mailtos://``) URL; ``to`` is the default
    recipient, replaced by the steward's address for each steward's message."""

    _block_type_name = "budgetwatch e-mail"
    _block_type_slug = "budgetwatch-e-mail"
