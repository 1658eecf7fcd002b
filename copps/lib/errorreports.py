"""Error reports that never carry who was asking.

Django's error reports (the e-mail to ADMINS, the debug page, any handler that formats the
request) include ``request.META`` and the cookies. For anonymous tips that would be the client's
address and User-Agent. ``AnonymousExceptionReporterFilter`` (``DEFAULT_EXCEPTION_REPORTER_FILTER``)
replaces the client-identifying headers and every cookie with the usual ``********************``,
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


class AnonymousExceptionReporterFilter(SafeExceptionReporterFilter):
    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        return {
            key: (self.cleansed_substitute if key in IDENTIFYING_META else value)
            for key, value in meta.items()
        }

    def get_safe_cookies(self, request):
        if not hasattr(request, "COOKIES"):
            return {}
        return {key: self.cleansed_substitute for key in request.COOKIES}
