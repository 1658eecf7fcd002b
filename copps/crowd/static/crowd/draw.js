/* Drawing a zone outline on the vendored Leaflet: click to place corners, close the outline,
 * and the GeoJSON Polygon is written into the form's textarea (which stays the way to paste an
 * outline, and the whole fallback without JavaScript). No inline styles or scripts (CSP). */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function readJSON(id, fallback) {
    var node = document.getElementById(id);
    if (!node) return fallback;
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return fallback;
    }
  }

  function outerRing(geometry) {
    if (!geometry || typeof geometry !== "object") return null;
    if (geometry.type === "Polygon") return geometry.coordinates[0];
    if (geometry.type === "MultiPolygon") return geometry.coordinates[0][0];
    return null;
  }

  ready(function () {
    var element = document.getElementById("zone-map");
    var field = document.getElementById("id_geometry");
    if (!element || !field || typeof window.L === "undefined") return;
    var L = window.L;
    var box = element.closest(".crowd-draw");
    if (box) box.hidden = false;
    var status = document.getElementById("draw-status");

    var map = L.map(element, { attributionControl: false, doubleClickZoom: false });
    var tiles = element.getAttribute("data-tiles");
    if (tiles) {
      L.control.attribution({ prefix: false }).addTo(map);
      L.tileLayer(tiles, { maxZoom: 19, attribution: element.getAttribute("data-attribution") || "" }).addTo(map);
    }

    var bounds = L.latLngBounds([]);
    readJSON("crowd-other-zones", []).forEach(function (zone) {
      try {
        var layer = L.geoJSON(zone.geometry, {
          style: { color: "#6b7280", weight: 1, fillOpacity: 0.15, dashArray: "4 3" },
          interactive: false,
        }).addTo(map);
        // A text node, never a string: Leaflet puts string tooltips in as HTML.
        var label = document.createElement("span");
        label.textContent = zone.name;
        layer.bindTooltip(label, { permanent: true, direction: "center", className: "crowd-label crowd-label--other" });
        bounds.extend(layer.getBounds());
      } catch (e) { /* a broken outline of another zone does not stop drawing */ }
    });

    var points = [];
    var closed = false;
    var shape = null;
    var corners = L.layerGroup().addTo(map);

    try {
      var ring = outerRing(JSON.parse(field.value || "null"));
      if (ring && ring.length > 3) {
        points = ring.slice(0, -1).map(function (p) { return L.latLng(p[1], p[0]); });
        closed = true;
        bounds.extend(L.latLngBounds(points));
      }
    } catch (e) { /* whatever is in the textarea stays there for the server to judge */ }

    function write() {
      if (!closed || points.length < 3) return;
      var coords = points.map(function (p) {
        return [Math.round(p.lng * 1e7) / 1e7, Math.round(p.lat * 1e7) / 1e7];
      });
      coords.push(coords[0]);
      field.value = JSON.stringify({ type: "Polygon", coordinates: [coords] });
    }

    function redraw() {
      if (shape) map.removeLayer(shape);
      corners.clearLayers();
      if (closed) {
        shape = L.polygon(points, { color: "#1f4fa3", weight: 2, fillOpacity: 0.25 }).addTo(map);
      } else {
        shape = L.polyline(points, { color: "#1f4fa3", weight: 2, dashArray: "6 4" }).addTo(map);
      }
      points.forEach(function (p) {
        L.circleMarker(p, { radius: 4, color: "#1f4fa3", fillOpacity: 1, interactive: false }).addTo(corners);
      });
      if (status) {
        status.textContent = closed
          ? element.getAttribute("data-label-closed")
          : points.length + " " + element.getAttribute("data-label-points");
      }
    }

    map.on("click", function (e) {
      if (closed) return;
      points.push(e.latlng);
      redraw();
    });

    function on(action, fn) {
      var button = box && box.querySelector('[data-draw="' + action + '"]');
      if (button) button.addEventListener("click", fn);
    }
    on("close", function () {
      if (points.length < 3) return;
      closed = true;
      write();
      redraw();
    });
    on("undo", function () {
      if (closed) closed = false;
      else points.pop();
      redraw();
    });
    on("clear", function () {
      points = [];
      closed = false;
      redraw();
    });

    if (bounds.isValid()) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 18 });
    else map.setView([50.85, 4.35], 13);
    redraw();
    element.classList.add("is-ready");
  });
})();
