// The tip form's map, on top of a form that works without it (the village list): a tap at city
// zoom zooms in to street level; there a tap drops a pin the user can drag to correct, or the
// phone's location does. The server says where the pin falls (village, commune) under the map.
(function () {
  "use strict";
  var frame = document.querySelector("[data-map][data-where-url]");
  var map = frame ? window[frame.dataset.map] : null;
  var lat = document.getElementById("tip-lat");
  var lon = document.getElementById("tip-lon");
  var how = document.getElementById("tip-located-by");
  var STREET = 17; // a pin is placed at street level only: a tap on a whole city is a guess
  var pin = null;

  function ask(point) {
    var url = frame.dataset.whereUrl + "?lat=" + point.lat.toFixed(6) + "&lon=" + point.lng.toFixed(6);
    htmx.ajax("GET", url, { target: "#tip-placed", swap: "innerHTML" });
  }

  function place(point, by) {
    lat.value = point.lat.toFixed(6);
    lon.value = point.lng.toFixed(6);
    how.value = by;
    var village = document.getElementById("tip-village");
    if (village) { village.value = ""; } // the pin is more exact than the village's middle
    if (pin) {
      pin.setLatLng(point);
    } else {
      pin = L.marker(point, { draggable: true, autoPan: true, keyboard: true }).addTo(map);
      pin.on("dragend", function () { place(pin.getLatLng(), "map"); });
    }
    ask(point);
    forget("where-error");
  }

  // a field the user has just answered no longer shows the error the server gave it
  function forget(id) {
    var said = document.getElementById(id);
    if (said) { said.remove(); }
  }
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field.name === "kind") { forget("kind-error"); return; }
    if (field.id === "description" && field.value.trim().length < 10) { return; }
    if (field.id) { forget(field.id + "-error"); }
  });

  if (map) {
    map.on("click", function (event) {
      if (map.getZoom() < STREET - 1) {
        map.setView(event.latlng, STREET);
        return;
      }
      place(event.latlng, "map");
    });
    if (lat.value && lon.value) { // the form came back with an error: keep the pin
      var kept = L.latLng(Number(lat.value), Number(lon.value));
      map.setView(kept, STREET);
      place(kept, how.value || "map");
    }
  }

  var locate = document.getElementById("tip-locate");
  var status = document.getElementById("tip-locate-status");
  if (locate && map && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = locate.dataset.waiting;
      navigator.geolocation.getCurrentPosition(function (position) {
        status.textContent = "";
        var point = L.latLng(position.coords.latitude, position.coords.longitude);
        map.setView(point, STREET);
        place(point, "gps");
      }, function (error) {
        status.textContent = error.code === 1 ? locate.dataset.denied : locate.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // choosing a village instead: the pin goes, the village's middle is used
  document.addEventListener("change", function (event) {
    if (event.target.id !== "tip-village" || !event.target.value) { return; }
    lat.value = ""; lon.value = ""; how.value = "";
    forget("where-error");
    if (pin) { map.removeLayer(pin); pin = null; }
    document.getElementById("tip-placed").innerHTML = "";
  });
})();
