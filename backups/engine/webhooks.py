"""Webhooks: where one may point (validation against the console being used
to reach internal services), how a body is signed, and the one HTTP POST.

Signature: ``X-Backup-Console-Signature: sha256=<hex>``, the HMAC-SHA256,
keyed with the channel's secret, of ``"<timestamp>.<body>"`` where
``<timestamp>`` is the ``X-Backup-Console-Timestamp`` header (Unix seconds)
and ``<body>`` the raw request body.  A receiver recomputes it, compares in
constant time, and refuses a timestamp too far from its clock (replay).

A target's host is resolved and *every* address checked, at save time and
again at send time, and the connection goes to the address that was
checked, so a name that resolves elsewhere a second later (DNS rebinding)
reaches nothing new.  Redirects are not followed.
"""

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

USER_AGENT = "BackupConsole-Webhook/1"
ANSWER_LIMIT = 4096  # bytes of a receiver's answer kept for the log


class UnsafeTarget(ValueError):
    """The URL may not be used as a webhook target (the message says why)."""


def private_allowed():
    return settings.DEBUG or settings.ALERT_WEBHOOK_ALLOW_PRIVATE


def _is_internal(address):
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def parse(url):
    """(scheme, host, port, path) of an http(s) URL, or UnsafeTarget."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget(_("Enter a valid URL.")) from error
    if parts.scheme not in {"http", "https"}:
        raise UnsafeTarget(_("Only http:// and https:// URLs can receive webhooks."))
    if not parts.hostname:
        raise UnsafeTarget(_("Enter a valid URL."))
    if parts.username or parts.password:
        raise UnsafeTarget(_("Put no user name or password in the URL: the signature authenticates the console."))
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url):
    """The addresses the URL's host resolves to, each checked; UnsafeTarget if
    it does not resolve, or one is internal and internal targets are not allowed."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeTarget(_("The host %(host)s does not resolve.") % {"host": host}) from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not private_allowed():
        internal = [address for address in addresses if _is_internal(address)]
        if internal:
            raise UnsafeTarget(
                _("%(host)s points to an internal address (%(address)s): webhooks may only reach public addresses.")
                % {"host": host, "address": internal[0]})
    return addresses


def sign(secret, timestamp, body):
    """The signature header's value for ``body`` (bytes) sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class _Pinned:
    """Connect to the checked address, not to whatever the name resolves to now."""

    def __init__(self, *args, address, **kwargs):
        super().__init__(*args, **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if isinstance(self, http.client.HTTPSConnection):
            sock = self._context.wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    pass


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    pass


def post(url, secret, body, timeout=None):
    """POST ``body`` (bytes) signed with ``secret``; the HTTP status, or an
    exception (UnsafeTarget, OSError, TimeoutError, http.client errors).
    ``timeout`` bounds the connect and each read."""
    timeout = timeout or settings.ALERT_WEBHOOK_TIMEOUT_SECONDS
    scheme, host, port, path = parse(url)
    address = resolve(url)[0]
    timestamp = str(int(time.time()))
    if scheme == "https":
        connection = _PinnedHTTPS(host, port, timeout=timeout, address=address, context=ssl.create_default_context())
    else:
        connection = _PinnedHTTP(host, port, timeout=timeout, address=address)
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Backup-Console-Timestamp": timestamp,
            "X-Backup-Console-Signature": sign(secret, timestamp, body),
        })
        response = connection.getresponse()
        response.read(ANSWER_LIMIT)
        return response.status
    finally:
        connection.close()
