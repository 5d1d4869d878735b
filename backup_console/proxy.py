"""The client's address, for django-axes' lock-outs (AXES_CLIENT_IP_CALLABLE).

Without a proxy (BEHIND_PROXY=0) it is REMOTE_ADDR, and X-Forwarded-For is
ignored: any client can write that header.

Behind PROXY_COUNT trusted proxies (BEHIND_PROXY=1; deploy/nginx.conf is
one) every request arrives from the nearest proxy, and each proxy appends to
X-Forwarded-For the address it was connected from.  The client is therefore
the PROXY_COUNT-th entry from the right, the one the outermost proxy wrote;
every entry left of it came from the client and is not trusted.  Fewer
entries than proxies, or an entry that is not a plain IP address, means the
request did not come through the chain as configured: REMOTE_ADDR then.

django-ipware would do the same with a dependency; this is the whole rule.
"""

import ipaddress

from django.conf import settings


def client_address(request):
    remote = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_PROXY:
        return remote
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) < settings.PROXY_COUNT:
        return remote
    candidate = entries[-settings.PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
