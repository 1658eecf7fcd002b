/* The listening dashboard's map of places: one circle per municipality named by the watch's
 * posts, at the municipality's centre, sized by the number of posts and coloured by their
 * average sentiment. Progressive enhancement: the table below is the content (and the
 * accessible alternative); without this script or without Leaflet the map block stays hidden.
 * No background tiles: which areas a desk looks at is nobody else's business, and the console
 * works offline. The data comes from the watch's places.geojson (access-checked, audited).
 * No inline styles or scripts (the Content-Security-Policy forbids them). */
(function () {
  "use strict";

  // Above this many municipalities the names would cover each other: circles only.
  var NAMED_LIMIT = 40;
  var COLOURS = { negative: "#b91c1c", mixed: "#6b7280", positive: "#15803d", unrated: "#9ca3af" };

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function colour(mood) {
    if (typeof mood !== "number") return COLOURS.unrated;
    if (mood <= -0.2) return COLOURS.negative;
    if (mood >= 0.2) return COLOURS.positive;
    return COLOURS.mixed;
  }

  function radius(count, largest) {
    // Area proportional to the count: 6 px for one post up to 28 px for the busiest place.
    return 6 + 22 * Math.sqrt(count / Math.max(1, largest));
  }

  function percent(part, whole) {
    return whole ? Math.round((100 * part) / whole) + " %" : "–";
  }

  function popupFor(p, labels) {
    var box = document.createElement("div");
    box.className = "places-popup";
    var title = document.createElement("strong");
    title.textContent = p.name;
    box.appendChild(title);
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(p.count + " " + labels.posts));
    var rated = (p.negative || 0) + (p.neutral || 0) + (p.positive || 0);
    var list = document.createElement("ul");
    if (rated) {
      ["negative", "neutral", "positive"].forEach(function (s) {
        var item = document.createElement("li");
        item.setAttribute("data-sentiment", s);
        item.textContent = labels[s] + ": " + percent(p[s] || 0, rated) + " (" + (p[s] || 0) + ")";
        list.appendChild(item);
      });
    } else {
      var none = document.createElement("li");
      none.textContent = labels.unrated;
      list.appendChild(none);
    }
    box.appendChild(list);
    return box;
  }

  function draw(element, data, labels) {
    var L = window.L;
    var features = (data && Array.isArray(data.features) ? data.features : []).filter(function (f) {
      var c = f && f.geometry && f.geometry.coordinates;
      return c && typeof c[0] === "number" && typeof c[1] === "number" && f.properties;
    });
    var map = L.map(element, { scrollWheelZoom: false, attributionControl: false });
    var largest = 1;
    features.forEach(function (f) { largest = Math.max(largest, f.properties.count || 0); });
    // The view first: Leaflet draws a layer (and gives it an element) once the map has one.
    var bounds = features.map(function (f) {
      return [f.geometry.coordinates[1], f.geometry.coordinates[0]];
    });
    if (bounds.length > 1) map.fitBounds(bounds, { padding: [40, 40], maxZoom: 11 });
    else if (bounds.length === 1) map.setView(bounds[0], 10);
    else map.setView([50.6, 4.6], 7); // Belgium
    features.forEach(function (f, i) {
      var p = f.properties;
      var at = bounds[i];
      var fill = colour(p.mood);
      var r = radius(p.count || 0, largest);
      var circle = L.circleMarker(at, {
        radius: r,
        color: "#1f2937",
        weight: 1,
        fillColor: fill,
        fillOpacity: 0.75,
        className: "places-circle places-circle--" + p.nis,
      });
      circle.bindPopup(popupFor(p, labels));
      if (features.length <= NAMED_LIMIT) {
        // Without a background map, names tell where the circles are.
        var name = document.createElement("span");
        name.textContent = p.name;
        circle.bindTooltip(name, {
          permanent: true,
          direction: "right",
          offset: [r, 0],
          className: "places-name",
        });
      }
      circle.addTo(map);
      // Leaflet draws an SVG path; tests and styles find it by its municipality.
      var path = circle.getElement && circle.getElement();
      if (path) {
        path.setAttribute("data-nis", p.nis);
        path.setAttribute("data-count", String(p.count));
      }
    });
    element.classList.add("is-ready");
  }

  ready(function () {
    var element = document.getElementById("places-map");
    if (!element || typeof window.L === "undefined" || !window.fetch) return;
    var block = element.closest(".places-map-block");
    var status = block ? block.querySelector("[data-map-status]") : null;
    var d = element.dataset;
    var labels = {
      posts: d.labelPosts || "",
      negative: d.labelNegative || "",
      neutral: d.labelNeutral || "",
      positive: d.labelPositive || "",
      unrated: d.labelUnrated || "",
    };
    fetch(d.url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (data) {
        if (block) block.hidden = false;
        draw(element, data, labels);
      })
      .catch(function () {
        if (block && status) {
          block.hidden = false;
          element.hidden = true;
          status.textContent = d.labelFailed || "";
        }
      });
  });
})();
