"""The blotter's open data, outside the language prefix (the contract names these paths):
``/blotter.geojson``, ``/blotter.csv`` and ``/feeds/blotter.xml`` (``?lang=`` picks the labels)."""

from django.urls import path

from . import feeds
from . import public_views as views

urlpatterns = [
    path("blotter.geojson", views.geojson, name="blotter-geojson"),
    path("blotter.csv", views.csv_export, name="blotter-csv"),
    path("feeds/blotter.xml", feeds.BlotterRss(), name="blotter-rss"),
]
