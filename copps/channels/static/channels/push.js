/* copps: opt in to browser notifications (progressive enhancement, no build step).
   The block (#push-optin) is rendered hidden; this script shows it only where the browser can do
   web push and the site has a push channel. Permission is asked only when the citizen clicks.
   Texts come from the template's data-msg-* attributes (translated server-side).
   The staff console's block (channels/push/staff.html) uses the same script with its own
   data-scope (a registration of its own, apart from a citizen's), data-key (the public key,
   instead of data-key-url) and data-mine (the id of a JSON list of the user's endpoints: a
   subscription of this browser that is someone else's shows as off). */
(function () {
  "use strict";
  var box = document.getElementById("push-optin");
  if (!box) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;

  var d = box.dataset;
  var on = box.querySelector("[data-push-action=subscribe]");
  var off = box.querySelector("[data-push-action=unsubscribe]");
  var status = box.querySelector("[data-push-status]");
  var csrf = box.querySelector("input[name=csrfmiddlewaretoken]");
  var scope = d.scope || "/";

  function keyFor(lang) {
    if (d.key) return Promise.resolve({ publicKey: d.key });
    return fetch(d.keyUrl + "?lang=" + encodeURIComponent(lang)).then(function (r) {
      if (!r.ok) throw new Error(d.msgUnavailable);
      return r.json();
    });
  }

  function mine(sub) {
    if (!sub) return false;
    if (!d.mine) return true;
    try {
      return JSON.parse(document.getElementById(d.mine).textContent).indexOf(sub.endpoint) >= 0;
    } catch (e) {
      return false;
    }
  }

  function say(text) { status.textContent = text || ""; }
  // The site's stylesheet makes [hidden] win over its button rule (display: inline-block).
  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
  }

  function preferences() {
    var form = d.form ? document.getElementById(d.form) : box.closest("form");
    var prefs = { language: d.lang, topics: [], postcodes: [] };
    if (!form) return prefs;
    var lang = form.querySelector("[name=language]:checked, select[name=language]");
    if (lang && lang.value) prefs.language = lang.value;
    form.querySelectorAll("[name=topics]:checked").forEach(function (el) { prefs.topics.push(el.value); });
    var codes = form.querySelector("[name=postcodes]");
    if (codes && codes.value.trim()) prefs.postcodes = codes.value.trim().split(/[\s,;]+/);
    return prefs;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || d.msgError);
        return j;
      });
    });
  }

  function keyBytes(b64) {
    var s = (b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(s), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function registration() {
    return navigator.serviceWorker.register(d.swUrl, { scope: scope }).then(function () {
      return navigator.serviceWorker.ready;
    });
  }

  function subscribe() {
    var prefs = preferences();
    on.disabled = true;
    say(d.msgWorking);
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error(d.msgDenied);
      return keyFor(prefs.language);
    }).then(function (key) {
      return registration().then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.publicKey) });
      });
    }).then(function (sub) {
      prefs.subscription = sub.toJSON();
      return post(d.subscribeUrl, prefs);
    }).then(function () {
      show(true);
      off.focus(); // the clicked button is gone: keep the keyboard user's place
      say(d.msgOn);
    }).catch(function (err) {
      say(err && err.message && err.name !== "AbortError" ? err.message : d.msgError);
    }).then(function () { on.disabled = false; });
  }

  function unsubscribe() {
    off.disabled = true;
    registration().then(function (reg) {
      return reg.pushManager.getSubscription();
    }).then(function (sub) {
      if (!sub) return null;
      var endpoint = sub.endpoint;
      return sub.unsubscribe().then(function () { return post(d.unsubscribeUrl, { endpoint: endpoint }); });
    }).then(function () {
      show(false);
      on.focus();
      say(d.msgOff);
    }).catch(function (err) {
      say(err && err.message ? err.message : d.msgError);
    }).then(function () { off.disabled = false; });
  }

  keyFor(d.lang).then(function () {
    show(false);
    box.hidden = false;
    if (Notification.permission === "denied") say(d.msgBlocked);
    on.addEventListener("click", subscribe);
    off.addEventListener("click", unsubscribe);
    return navigator.serviceWorker.getRegistration(scope).then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (sub) { show(mine(sub)); });
  }).catch(function () { /* no push here: the block stays hidden */ });
})();
