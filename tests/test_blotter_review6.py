"""Review of the blotter (issue 6): leaks and robustness found after the parts were merged."""

import json
from datetime import timedelta
from email.utils import parsedate_to_datetime
from xml.etree import ElementTree

from django.utils import timezone

from copps.blotter import importer, publish
from copps.blotter.models import Entry, EntryState

from .test_blotter_public import row, run_import, use_policy


def test_it_never_tells_the_moment_of_publication_in_the_rss_feed(client, db, tmp_path):
    # Published at "reported_at + delay" to the minute: that would undo the time rounding.
    use_policy()
    run_import(tmp_path, row("T1", "theft", "Antwerpen", 20))
    publish.publish_due(timezone.now().replace(minute=33, second=7))
    entry = Entry.objects.get(state=EntryState.PUBLISHED)
    assert entry.published_at.minute == 33
    feed = ElementTree.fromstring(client.get("/feeds/blotter.xml").content)
    dates = [feed.find("channel/lastBuildDate").text]
    dates += [item.find("pubDate").text for item in feed.iter("item")]
    assert len(dates) == 2
    for text in dates:
        moment = parsedate_to_datetime(text)
        assert moment == entry.occurred_at
        assert (moment.minute, moment.second) == (0, 0)
