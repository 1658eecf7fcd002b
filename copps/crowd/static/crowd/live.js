/* The live crowd map in the console (vendored Leaflet). Zone outlines and route lines come once
 * with the page (#crowd-shapes); the figures come with the zone table that htmx refreshes every
 * five seconds (#crowd-live-data inside #crowd-live-zones): after each refresh the zones are
 * recoloured. Each level has a colour, a fill pattern and a text label, never colour alone.
 * Progressive enhancement: without this script the table and charts carry everything. */
(function () {
  "use strict";

  var LEVEL_COLOURS = { green: "#1e7b45", amber: "#8a5a00", red: "#9f1d1d" };
  var ROUTE_STYLES = {
    open: { color: "#1e7b45", weight: 4, dashArray: null, opacity: 0.9 },
    closed: { color: "#9f1d1d", weight: 6, dashArray: "10 6", opacity: 0.95 },
    one_way: { color: "#1f4fa3", weight: 4, dashArray: "2 6", opacity: 0.95 },
  };
  var ROUTE_SYMBOLS = { open: "✓", closed: "✕", one_way: "→" };

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

  ready(function () {
    var element = document.getElementById("crowd-map");
    if (!element || typeof window.L === "undefined") return;
    var L = window.L;
    var card = element.closest(".crowd-map-card");
    if (card) card.hidden = false;
    var labels = {
      people: element.getAttribute("data-label-people") || "",
      stale: element.getAttribute("data-label-stale") || "",
    };

    var map = L.map(element, { scrollWheelZoom: false, attributionControl: false, zoomSnap: 0.25 });
    var tiles = element.getAttribute("data-tiles");
    if (tiles) {
      L.control.attribution({ prefix: false }).addTo(map);
      L.tileLayer(tiles, { maxZoom: 19, attribution: element.getAttribute("data-attribution") || "" }).addTo(map);
    }

    var shapes = readJSON("crowd-shapes", { zones: [], routes: [] });
    var zones = {};
    var routes = {};
    var bounds = L.latLngBounds([]);

    (shapes.routes || []).forEach(function (route) {
      try {
        var layer = L.geoJSON(route.geometry, { style: ROUTE_STYLES[route.status] || ROUTE_STYLES.open });
        layer.addTo(map);
        routes[route.id] = { layer: layer, name: route.name };
        bounds.extend(layer.getBounds());
      } catch (e) { /* one broken line does not stop the map */ }
    });

    (shapes.zones || []).forEach(function (zone) {
      try {
        var layer = L.geoJSON(zone.geometry, {
          style: { weight: 2, fillOpacity: 0.55, className: "crowd-zone" },
        });
        layer.addTo(map);
        var tip = document.createElement("span");
        // Above the zone, pointing at it: the outline and its pattern stay visible.
        layer.bindTooltip(tip, { permanent: true, direction: "top", className: "crowd-label" });
        zones[zone.key] = { layer: layer, tip: tip, name: zone.name };
        bounds.extend(layer.getBounds());
      } catch (e) { /* idem */ }
    });

    function paintZones(data) {
      Object.keys(zones).forEach(function (key) {
        var zone = zones[key];
        var figures = (data.zones || {})[key];
        if (!figures) return;
        var level = LEVEL_COLOURS[figures.level] ? figures.level : "green";
        zone.layer.setStyle({
          color: LEVEL_COLOURS[level],
          fillColor: "url(#crowd-fill-" + level + ")",
        });
        zone.layer.eachLayer(function (path) {
          var node = path.getElement && path.getElement();
          if (node) {
            node.setAttribute("data-zone", key);
            node.setAttribute("data-level", level);
          }
        });
        // Name, level in words with its symbol, trend, people: the label says it all in text.
        var tip = document.createElement("span");
        var name = document.createElement("strong");
        name.textContent = zone.name;
        tip.appendChild(name);
        tip.appendChild(document.createElement("br"));
        var badge = document.createElement("span");
        badge.className = "crowd-label__level crowd-label__level--" + level;
        badge.textContent = figures.symbol + " " + figures.label + " " + figures.arrow;
        tip.appendChild(badge);
        tip.appendChild(document.createElement("br"));
        tip.appendChild(document.createTextNode(figures.people.toLocaleString() + " " + labels.people));
        if (figures.stale) {
          var stale = document.createElement("span");
          stale.className = "crowd-label__stale";
          stale.textContent = " · " + labels.stale;
          tip.appendChild(stale);
        }
        tip.setAttribute("data-zone-label", key);
        tip.setAttribute("data-level", level);
        zone.layer.setTooltipContent(tip);
      });
      Object.keys(routes).forEach(function (id) {
        var figures = (data.routes || {})[id];
        if (!figures) return;
        var route = routes[id];
        route.layer.setStyle(ROUTE_STYLES[figures.status] || ROUTE_STYLES.open);
        route.layer.eachLayer(function (path) {
          var node = path.getElement && path.getElement();
          if (node) node.setAttribute("data-route-status", figures.status);
        });
        route.layer.unbindTooltip();
        // A text node, never a string: Leaflet puts string tooltips in as HTML.
        var text = document.createElement("span");
        text.textContent = route.name + " · " + (ROUTE_SYMBOLS[figures.status] || "") + " " + figures.label;
        route.layer.bindTooltip(text, { sticky: true });
      });
    }

    // Room above the zones for their labels.
    if (bounds.isValid()) map.fitBounds(bounds, { paddingTopLeft: [24, 70], paddingBottomRight: [24, 16], maxZoom: 18 });
    else map.setView([50.85, 4.35], 13);
    paintZones(readJSON("crowd-live-data", {}));
    element.classList.add("is-ready");

    document.body.addEventListener("htmx:afterSettle", function (event) {
      var target = event.detail && event.detail.elt;
      if (target && target.id === "crowd-live-zones") paintZones(readJSON("crowd-live-data", {}));
      else if (document.getElementById("crowd-live-zones")) paintZones(readJSON("crowd-live-data", {}));
    });
  });
})();
