"""Public order: events with zones, crowd sensors, live levels, fast-track messages, crisis mode.

An ``Event`` (a festival, a match, a demonstration) has ``Zone`` polygons with an area and two
densities (comfortable, maximum) and ``Route`` streets with a status (open, closed, one-way).
A ``Sensor`` at a fixed point counts phones (Bluetooth, Wi-Fi: ``devices``) or people passing
(``in``/``out``); it belongs to one zone and has a calibration factor, because a counter sees only
part of the crowd. Counts only: no device identifier is ever accepted or stored. Each accepted
count is a ``Reading``; the zone's live figures (people, density, level, trend) are recomputed
from its sensors' latest values and sampled per minute (``ZoneSample``) for the history charts.
A level that rises raises a ``CrowdAlert`` with a message proposed from a ``Template`` that a
second person approved beforehand; the commander sends it through the fast track. ``CrisisMode``
(one row) switches the public site to a prepared ``CrisisPage``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    GREEN = "green", _("Comfortable")
    AMBER = "amber", _("Busy")
    RED = "red", _("Full")


LEVEL_RANK: dict[str, int] = {Level.GREEN: 0, Level.AMBER: 1, Level.RED: 2}


class Event(models.Model):
    name = models.CharField(_("name"), max_length=160)
    slug = models.SlugField(_("address on the public site"), max_length=80, unique=True)
    description = models.TextField(_("public description"), blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    area = models.ForeignKey(
        "accounts.Area", verbose_name=_("area"), null=True, blank=True, on_delete=models.PROTECT
    )
    # Channel keys (copps.newsroom.renditions.CHANNELS) the event's messages go to.
    channels = models.JSONField(_("channels"), default=list, blank=True)
    # The listening watch for the event's hashtag (optional).
    watch = models.ForeignKey(
        "listening.Watch",
        verbose_name=_("listening watch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    public = models.BooleanField(_("public crowd page"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "pk"]
        verbose_name = _("event")

    def __str__(self) -> str:
        return self.name

    def is_running(self, now=None) -> bool:
        now = now or timezone.now()
        return self.starts_at <= now <= self.ends_at


class Zone(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="zones")
    # The zone's identifier in the API and in sensor configuration ("grote-markt").
    key = models.SlugField(_("identifier"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    # A GeoJSON Polygon or MultiPolygon in WGS84 (validated by copps.crowd.geo).
    geometry = models.JSONField(_("outline"))
    area_m2 = models.FloatField(_("area (m²)"))
    comfortable_density = models.FloatField(_("comfortable density (people/m²)"), default=2.0)
    max_density = models.FloatField(_("maximum density (people/m²)"), default=4.0)
    # What people should do when the zone fills up ("use the entrance on the Veldstraat").
    advice = models.CharField(_("advice when busy"), max_length=200, blank=True)
    # Live figures, recomputed on every accepted count (copps.crowd.ingest).
    people = models.PositiveIntegerField(default=0)
    density = models.FloatField(default=0.0)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.GREEN)
    trend = models.SmallIntegerField(default=0)  # -1 falling, 0 steady, 1 rising
    stale = models.BooleanField(default=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["event", "name"]
        verbose_name = _("zone")
        constraints = [models.UniqueConstraint(fields=["event", "key"], name="zone_key")]

    def __str__(self) -> str:
        return self.name


class RouteStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    ONE_WAY = "one_way", _("One-way")


class Route(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="routes")
    name = models.CharField(_("street or route"), max_length=160)
    status = models.CharField(
        _("status"), max_length=10, choices=RouteStatus.choices, default=RouteStatus.OPEN
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    # A GeoJSON LineString or MultiLineString (optional: a route can be named only).
    geometry = models.JSONField(_("line"), null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event", "name"]
        verbose_name = _("route")

    def __str__(self) -> str:
        return self.name


class SensorKind(models.TextChoices):
    BLUETOOTH = "bluetooth", _("Bluetooth device counter")
    WIFI = "wifi", _("Wi-Fi device counter")
    COUNTER = "counter", _("People counter (in/out)")


class Sensor(models.Model):
    # The identifier in the MQTT topic copps/sensors/<sensor_id>/counts and the HTTP URL.
    sensor_id = models.CharField(_("sensor identifier"), max_length=64, unique=True)
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="sensors")
    kind = models.CharField(
        _("kind"), max_length=10, choices=SensorKind.choices, default=SensorKind.BLUETOOTH
    )
    # People per counted device (a Bluetooth counter sees one phone in three: 3.0), or per
    # counted passage for a people counter (usually 1.0).
    calibration = models.FloatField(_("calibration factor"), default=1.0)
    # SHA-256 of the sensor's own token for HTTP pushes (empty: commanders' tokens only).
    token_hash = models.CharField(max_length=64, blank=True)
    # Latest accepted count.
    last_ts = models.DateTimeField(null=True, blank=True)
    last_devices = models.PositiveIntegerField(null=True, blank=True)
    # People counters: passages in minus passages out since the event started (never below 0).
    occupancy = models.IntegerField(default=0)
    last_received_at = models.DateTimeField(null=True, blank=True)
    stale = models.BooleanField(default=True)
    # Flood control: accepted counts in the current minute.
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sensor_id"]
        verbose_name = _("sensor")

    def __str__(self) -> str:
        return self.sensor_id

    def people(self) -> float:
        """This sensor's estimate of the people it covers (0 before its first count)."""
        return self.estimate(self.kind, self.calibration, self.last_devices, self.occupancy)

    @staticmethod
    def estimate(kind: str, calibration: float, last_devices: int | None, occupancy: int) -> float:
        """``people()`` from the bare column values (ingestion reads thousands at a time)."""
        if kind == SensorKind.COUNTER:
            return max(occupancy, 0) * calibration
        return (last_devices or 0) * calibration


class Reading(models.Model):
    """One accepted count: numbers only."""

    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="readings")
    ts = models.DateTimeField()
    devices = models.PositiveIntegerField(null=True)
    inflow = models.PositiveIntegerField(null=True)
    outflow = models.PositiveIntegerField(null=True)
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["sensor", "ts"])]

    def __str__(self) -> str:
        return f"{self.sensor_id} {self.ts:%H:%M:%S}"


class ZoneSample(models.Model):
    """A zone's figures per minute (the last value of the minute), for charts and trends."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="samples")
    minute = models.DateTimeField()
    people = models.PositiveIntegerField()
    density = models.FloatField()
    level = models.CharField(max_length=8, choices=Level.choices)

    class Meta:
        ordering = ["zone", "minute"]
        constraints = [models.UniqueConstraint(fields=["zone", "minute"], name="zone_minute")]

    def __str__(self) -> str:
        return f"{self.zone_id} {self.minute:%H:%M} {self.density}"


class Rejection(models.Model):
    """Counts refused, per day, reason and channel (mqtt, http); never their content."""

    day = models.DateField()
    reason = models.CharField(max_length=32)
    via = models.CharField(max_length=8)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["day", "reason", "via"], name="rejection_day_reason")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.reason} {self.count}"


class TemplateUse(models.TextChoices):
    CROWD = "crowd", _("Crowd level (event)")
    STREETS = "streets", _("Streets and routes (event)")
    CRISIS = "crisis", _("Crisis update")


class Template(models.Model):
    """A message written and approved beforehand, filled with live facts when it is sent.

    ``texts`` is ``{language: {"title": ..., "body": ...}}``; placeholders in braces
    (``{zone}``, ``{people}``, ``{density}``, ``{advice}``, ``{event}``, ``{quietest}``,
    ``{time}``, ``{routes_closed}``) are filled by ``copps.crowd.templates.fill``. Changing the
    text withdraws the approval: only approved templates go through the fast track.
    """

    name = models.CharField(_("name"), max_length=120)
    use = models.CharField(
        _("use"), max_length=10, choices=TemplateUse.choices, default=TemplateUse.CROWD
    )
    # Crowd templates: the level they are proposed for (amber, red).
    level = models.CharField(_("for level"), max_length=8, choices=Level.choices, blank=True)
    texts = models.JSONField(_("texts"), default=dict)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["use", "level", "name"]
        verbose_name = _("message template")

    def __str__(self) -> str:
        return self.name

    @property
    def approved(self) -> bool:
        return self.approved_by_id is not None and self.approved_by_id != self.written_by_id


class AlertKind(models.TextChoices):
    LEVEL = "level", _("Crowd level")
    STALE = "stale", _("Sensor silent")


class AlertState(models.TextChoices):
    OPEN = "open", _("Open")
    SENT = "sent", _("Message sent")
    DISMISSED = "dismissed", _("Dismissed")
    RESOLVED = "resolved", _("Resolved")


class CrowdAlert(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="alerts")
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=8, choices=AlertKind.choices, default=AlertKind.LEVEL)
    level = models.CharField(max_length=8, choices=Level.choices)
    people = models.PositiveIntegerField(default=0)
    density = models.FloatField(default=0.0)
    sensor_id = models.CharField(max_length=64, blank=True)  # stale alerts: which sensor
    raised_at = models.DateTimeField(default=timezone.now, db_index=True)
    state = models.CharField(
        max_length=10, choices=AlertState.choices, default=AlertState.OPEN, db_index=True
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at", "-pk"]
        verbose_name = _("crowd alert")

    def __str__(self) -> str:
        return f"{self.zone_id} {self.kind} {self.level}"


class SentMessage(models.Model):
    """A message sent through the fast track: for an event (crowd, streets) or a crisis."""

    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="sent"
    )
    message = models.ForeignKey("newsroom.Message", on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="+")
    alert = models.ForeignKey(
        CrowdAlert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    crisis = models.BooleanField(default=False)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"message {self.message_id}"


class CrisisPage(models.Model):
    """A crisis front page prepared beforehand: ``content`` is ``{language: {title, body}}``."""

    name = models.CharField(_("name"), max_length=120)
    content = models.JSONField(_("content"), default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("crisis front page")

    def __str__(self) -> str:
        return self.name


class CrisisMode(models.Model):
    """One row (pk 1): whether the public site shows a crisis front page, which, since when."""

    active = models.BooleanField(default=False)
    page = models.ForeignKey(CrisisPage, null=True, blank=True, on_delete=models.PROTECT)
    # The affected area (its subscribers hear crisis updates); empty: the whole force.
    area = models.ForeignKey(
        "accounts.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    since = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "crisis mode on" if self.active else "crisis mode off"

    @classmethod
    def current(cls) -> CrisisMode:
        return cls.objects.get_or_create(pk=1)[0]
