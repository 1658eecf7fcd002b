"""Error reports that never carry who was asking.

Django's error reports (the e-mail to ADMINS, the debug page, any handler that formats the
request) include ``request.META`` and the cookies. For anonymous tips that would be the client's
address and User-Agent. ``AnonymousExceptionReporterFilter`` (``DEFAULT_EXCEPTION_REPORTER_FILTER``)
replaces the client-identifying META keys, every request header not known to be harmless
(``SAFE_HEADERS``) and every cookie with the usual ``********************``,
whatever DEBUG says.
"""

from django.views.debug import SafeExceptionReporterFilter

# request.META keys that identify the client (or were set by a proxy to do so).
IDENTIFYING_META = frozenset(
    {
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_PORT",
        "HTTP_USER_AGENT",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_REAL_IP",
        "HTTP_FORWARDED",
        "HTTP_CLIENT_IP",
        "HTTP_TRUE_CLIENT_IP",
        "HTTP_CF_CONNECTING_IP",
        "HTTP_COOKIE",
        "HTTP_REFERER",
        "HTTP_SEC_CH_UA",
        "HTTP_SEC_CH_UA_PLATFORM",
        "HTTP_SEC_CH_UA_MOBILE",
        "gunicorn.socket",
    }
)


# Request headers that never name the client: every other header is blanked. Proxies and CDNs
# carry the client's address in headers of their own (X-Client-IP, X-Cluster-Client-IP,
# Fastly-Client-IP, Via, …) and browsers describe themselves in client hints (Sec-CH-UA-*), so a
# list of the identifying ones can never be complete.
SAFE_HEADERS = frozenset(
    {
        "HTTP_HOST",
        "HTTP_ACCEPT",
        "HTTP_ACCEPT_LANGUAGE",
        "HTTP_ACCEPT_ENCODING",
        "HTTP_CONTENT_TYPE",
        "HTTP_CONTENT_LENGTH",
        "HTTP_CACHE_CONTROL",
        "HTTP_CONNECTION",
        "HTTP_ORIGIN",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_REQUESTED_WITH",
        "HTTP_HX_REQUEST",
        "HTTP_UPGRADE_INSECURE_REQUESTS",
        "HTTP_SEC_FETCH_SITE",
        "HTTP_SEC_FETCH_MODE",
        "HTTP_SEC_FETCH_DEST",
        "HTTP_SEC_FETCH_USER",
    }
)


def identifying(key: str) -> bool:
    return key in IDENTIFYING_META or (key.startswith("HTTP_") and key not in SAFE_HEADERS)


class AnonymousExceptionReporterFilter(SafeExceptionReporterFilter):
    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        return {
            key: (self.cleansed_substitute if identifying(key) else value)
            for key, value in meta.items()
        }

    def get_safe_cookies(self, request):
        if not hasattr(request, "COOKIES"):
            return {}
        return {key: self.cleansed_substitute for key in request.COOKIES}
