/* copps web push service worker: shows a notification per push and opens its page on click.
   Served at /push/sw.js with "Service-Worker-Allowed: /". No fetch handler: it never touches
   page loads. The payload (decrypted by the browser) is JSON: {title, body, url, lang, tag}. */
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function sameOriginUrl(value) {
  try {
    var url = new URL(value, self.location.origin);
    return url.origin === self.location.origin ? url.href : self.location.origin + "/";
  } catch (e) {
    return self.location.origin + "/";
  }
}

self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  var title = typeof data.title === "string" && data.title ? data.title : self.location.host;
  var options = {
    body: typeof data.body === "string" ? data.body : "",
    lang: typeof data.lang === "string" ? data.lang : "",
    tag: typeof data.tag === "string" ? data.tag : "",
    data: { url: sameOriginUrl(data.url || "/") }
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = sameOriginUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
      for (var i = 0; i < list.length; i++) {
        if (list[i].url === target && "focus" in list[i]) {
          return list[i].focus();
        }
      }
      return self.clients.openWindow(target);
    })
  );
});
