"""Notifications of alerts: the one door from the alert lifecycle
(engine/alerting.py) to the delivery channels (email, webhooks).

``alert_event(alert, event)`` is called by the lifecycle *inside* the
transaction that opened or resolved ``alert`` (event ``"opened"`` or
``"resolved"``), by the one evaluation that won that change — so it is called
once per change however many workers evaluate.  It records what is to be sent
and queues the sending after commit; it never sends inside the transaction or
a web request.

Until the channels exist this records nothing.
"""


def alert_event(alert, event):
    """Queue the notifications of one alert change (see the module doc)."""
    return None
