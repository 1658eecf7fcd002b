/* The blotter map: one marker per municipality with its number of entries (every entry sits on
 * its municipality's centre, never on the place of the incident). Progressive enhancement: the
 * list below is the content; without this script, or without Leaflet, the map section stays
 * hidden. No inline styles or scripts (the Content-Security-Policy forbids them). */
(function () {
  "use strict";

  // Above this many municipalities the names would cover each other: markers only.
  var NAMED_LIMIT = 40;

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function readPlaces() {
    var node = document.getElementById("blotter-places");
    if (!node) return [];
    try {
      var data = JSON.parse(node.textContent);
      return Array.isArray(data) ? data : [];
    } catch (e) {
      return [];
    }
  }

  function markerSize(count) {
    if (count >= 100) return 46;
    if (count >= 10) return 38;
    return 30;
  }

  function popupFor(place, labels) {
    var box = document.createElement("div");
    box.className = "blotter-popup";
    var title = document.createElement("strong");
    title.textContent = place.name;
    box.appendChild(title);
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(place.count + " " + labels.entries));
    box.appendChild(document.createElement("br"));
    var link = document.createElement("a");
    link.href = place.url;
    link.textContent = labels.show;
    box.appendChild(link);
    return box;
  }

  ready(function () {
    var element = document.getElementById("blotter-map");
    if (!element || typeof window.L === "undefined") return;
    var L = window.L;
    var section = element.closest(".blotter-map-section");
    var places = readPlaces();
    var labels = {
      entries: element.getAttribute("data-label-entries") || "",
      show: element.getAttribute("data-label-show") || "",
    };
    if (section) section.hidden = false;

    var map = L.map(element, { scrollWheelZoom: false, attributionControl: false });
    var tiles = element.getAttribute("data-tiles");
    if (tiles) {
      L.control.attribution({ prefix: false }).addTo(map);
      L.tileLayer(tiles, {
        maxZoom: 18,
        attribution: element.getAttribute("data-attribution") || "",
      }).addTo(map);
    }

    var bounds = [];
    places.forEach(function (place) {
      if (typeof place.lat !== "number" || typeof place.lon !== "number") return;
      var size = markerSize(place.count);
      var label = document.createElement("span");
      label.className = "blotter-marker-label";
      label.textContent = String(place.count);
      var marker = L.marker([place.lat, place.lon], {
        icon: L.divIcon({
          className: "blotter-marker",
          html: label,
          iconSize: [size, size],
        }),
        title: place.name + ": " + place.count + " " + labels.entries,
        alt: place.name,
        riseOnHover: true,
      });
      marker.bindPopup(popupFor(place, labels));
      if (!tiles && places.length <= NAMED_LIMIT) {
        // Without a background map, names tell where the markers are.
        var name = document.createElement("span");
        name.textContent = place.name;
        marker.bindTooltip(name, {
          permanent: true,
          direction: "right",
          offset: [size / 2, 0],
          className: "blotter-name",
        });
      }
      marker.addTo(map);
      bounds.push([place.lat, place.lon]);
    });

    if (bounds.length > 1) {
      map.fitBounds(bounds, { padding: [30, 30], maxZoom: 12 });
    } else if (bounds.length === 1) {
      map.setView(bounds[0], 11);
    } else {
      map.setView([50.6, 4.6], 7); // Belgium
    }
    element.classList.add("is-ready");
  });
})();
