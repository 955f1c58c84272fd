// The desk's map: the GeoJSON of the filtered list as pins coloured by status, grouped
// when they are close (Leaflet.markercluster). Text goes in as text, never as HTML.
(function () {
  "use strict";
  var box = document.getElementById("map");
  if (!box || !window.L) {
    return;
  }
  var colours = {
    late: "#c62828",
    new: "#6a1b9a",
    assigned: "#ef6c00",
    responded: "#1565c0",
    waiting_citizen: "#1565c0",
    resolved: "#2e7d32"
  };
  var map = L.map(box).setView([-6.35, 108.3], 10); // Indramayu until the pins arrive
  L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution }).addTo(map);
  var pins = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });
  map.addLayer(pins);

  function popup(properties) {
    var body = document.createElement("div");
    var link = document.createElement("a");
    link.href = properties.url;
    link.textContent = properties.number;
    var lines = [properties.status_label, properties.category, properties.agency];
    body.appendChild(link);
    lines.forEach(function (text) {
      var line = document.createElement("div");
      line.textContent = text;
      body.appendChild(line);
    });
    return body;
  }

  fetch(box.dataset.geojson, { credentials: "same-origin" })
    .then(function (answer) {
      if (!answer.ok) {
        throw new Error("HTTP " + answer.status);
      }
      return answer.json();
    })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        pointToLayer: function (feature, where) {
          var p = feature.properties;
          var colour = p.late ? colours.late : colours[p.status] || "#757575";
          var icon = L.divIcon({
            className: "pin",
            html: '<span style="background:' + colour + '"></span>',
            iconSize: [16, 16]
          });
          return L.marker(where, { icon: icon, title: p.number, alt: p.number });
        },
        onEachFeature: function (feature, marker) {
          marker.bindPopup(popup(feature.properties));
        }
      });
      pins.addLayer(layer);
      if (collection.features.length) {
        map.fitBounds(layer.getBounds(), { maxZoom: 16, padding: [20, 20] });
      }
      box.dataset.pins = String(collection.features.length);
    })
    .catch(function (problem) {
      box.dataset.error = String(problem);
    });
})();
