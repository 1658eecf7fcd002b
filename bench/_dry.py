"""Throwaway subscriber adapters for ``bench/fanout.py --dry-run``: NOT product code.

They exist so the fan-out machinery of the delivery engine (``expand``, ``deliver_recipients``,
``finish_fanouts``) can be measured and profiled before the real e-mail, web push and Kannel
adapters are on the branch. Each sends real traffic to the benchmark's sinks with the simplest
client that works (smtplib, httpx, one copy after the other), using the same encryption as the
baseline for push. Loaded by ``bench._settings`` when BENCH_DRY_ADAPTERS=1.
"""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage

import httpx

from copps.channels.base import Adapter, ChannelError


class DryEmailAdapter(Adapter):
    kind = "email"
    rendition = "email"
    subscribers = True
    medium = "email"
    batch_size = 200

    def send_batch(self, delivery, recipients):
        p = delivery.payload
        out = {}
        try:
            with smtplib.SMTP(self.config["host"], int(self.config["port"]), timeout=10) as smtp:
                for r in recipients:
                    msg = EmailMessage()
                    msg["From"] = self.config["from_address"]
                    msg["To"] = r.subscription.address
                    msg["Subject"] = p.get("title", "")
                    msg["List-Unsubscribe"] = f"<{p.get('link', '')}?u={r.subscription_id}>"
                    msg.set_content(p.get("body_text") or p.get("text", ""))
                    msg["Message-ID"] = f"<{delivery.key}.{r.pk}@police.example>"
                    smtp.send_message(msg)
                    out[r.pk] = msg["Message-ID"]  # like the real adapter: an id per copy
        except (OSError, smtplib.SMTPException) as exc:
            if not out:
                raise ChannelError(str(exc)) from None
        return out


class DryPushAdapter(Adapter):
    kind = "webpush"
    rendition = "push"
    subscribers = True
    medium = "push"
    batch_size = 100

    def send_batch(self, delivery, recipients):
        from _baseline import push_crypto  # bench/ is on sys.path in the worker (PYTHONPATH)

        encrypt, headers_for = push_crypto(
            self.secrets["vapid_private_key"], self.config["contact"]
        )
        p = delivery.payload
        body = json.dumps({"title": p.get("title"), "body": p.get("text"), "url": p.get("link")})
        out = {}
        with httpx.Client(timeout=10) as client:
            for r in recipients:
                s = r.subscription
                data = encrypt({"p256dh": s.push_p256dh, "auth": s.push_auth}, body.encode())
                headers = {
                    **headers_for(s.push_endpoint),
                    "TTL": "86400",
                    "Content-Encoding": "aes128gcm",
                    "Urgency": "high",
                }
                response = client.post(s.push_endpoint, content=data, headers=headers)
                ok = response.status_code == 201
                out[r.pk] = response.headers.get("location", "") if ok else ChannelError("refused")
        return out


class DrySmsAdapter(Adapter):
    kind = "sms_kannel"
    rendition = "sms"
    subscribers = True
    medium = "sms"
    batch_size = 100

    def send_batch(self, delivery, recipients):
        text = delivery.payload.get("text", "")
        out = {}
        with httpx.Client(timeout=10) as client:
            for r in recipients:
                response = client.get(
                    self.config["sendsms_url"],
                    params={
                        "username": self.config["username"],
                        "password": self.secrets.get("password", ""),
                        "from": self.config.get("sender", ""),
                        "to": r.subscription.address,
                        "text": text,
                    },
                )
                ok = response.status_code == 202
                out[r.pk] = f"{delivery.key}-{r.pk}" if ok else ChannelError("refused")
        return out
