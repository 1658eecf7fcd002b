from django.conf import settings


def site(request):
    return {"FORCE_NAME": settings.FORCE_NAME, "SITE_URL": settings.SITE_URL}
