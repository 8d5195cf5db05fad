// The citizens' look-up, on top of pages that work without it: a tap on the map (or the
// phone's location) asks the server for the card of that point and swaps it in; the card
// carries its area's outline, which is drawn here. Lists submit themselves when chosen.
(function () {
  "use strict";
  var frame = document.querySelector("[data-map][data-point-url]");
  var map = frame ? window[frame.dataset.map] : null;
  var marker = null;
  var outline = null;
  var POINT = { radius: 8, color: "#ffffff", weight: 3, fillColor: "#e63946", fillOpacity: 1 };
  var AREA = { color: "#e63946", weight: 3, fillColor: "#e63946", fillOpacity: 0.15 };

  function mark(lat, lon) {
    if (!map) { return; }
    if (marker) { marker.setLatLng([lat, lon]); } else { marker = L.circleMarker([lat, lon], POINT).addTo(map); }
  }

  function lookUp(lat, lon) {
    mark(lat, lon);
    var url = frame.dataset.pointUrl + "?lat=" + lat.toFixed(6) + "&lon=" + lon.toFixed(6);
    htmx.ajax("GET", url, { target: "#card", swap: "outerHTML" });
  }

  // Draw what the card is about: its area's outline and the point looked up.
  function showCard(fit) {
    var card = document.getElementById("card");
    if (!card || !map) { return; }
    if (outline) { map.removeLayer(outline); outline = null; }
    if (card.dataset.outline) {
      outline = L.geoJSON(JSON.parse(card.dataset.outline), { style: AREA, interactive: false }).addTo(map);
      if (fit) { map.fitBounds(outline.getBounds(), { maxZoom: 17, padding: [16, 16] }); }
    }
    if (card.dataset.lat) { mark(Number(card.dataset.lat), Number(card.dataset.lon)); }
    if (marker) { marker.bringToFront(); }
  }

  if (map) {
    map.on("click", function (event) { lookUp(event.latlng.lat, event.latlng.lng); });
    showCard(false);
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var flash = document.getElementById("flash");
    if (event.detail.target && event.detail.target.id === "flash") {
      // nothing at that point (or a bad request): hide the earlier card, show the message
      var card = document.getElementById("card");
      if (card) { card.hidden = true; }
      if (outline) { map.removeLayer(outline); outline = null; }
      flash.scrollIntoView({ block: "nearest" });
      return;
    }
    if (event.detail.target && event.detail.target.id === "card") {
      flash.innerHTML = "";
      showCard(false);
      document.getElementById("card").scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });

  // The phone's location: only offered where the browser has it (and over https or localhost).
  var locate = document.getElementById("locate");
  var status = document.getElementById("locate-status");
  if (locate && navigator.geolocation && frame) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = locate.dataset.waiting;
      navigator.geolocation.getCurrentPosition(function (position) {
        status.textContent = "";
        var lat = position.coords.latitude;
        var lon = position.coords.longitude;
        if (map) { map.setView([lat, lon], Math.max(map.getZoom(), 15)); }
        lookUp(lat, lon);
      }, function (error) {
        status.textContent = error.code === 1 ? locate.dataset.denied : locate.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // Lists lead to the chosen place at once; the button stays for those without JavaScript.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.value) { select.form.requestSubmit(); }
  });

  // Share the card's link: the phone's share sheet where there is one, else the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy[data-copy]");
    if (!button) { return; }
    var url = button.dataset.copy;
    if (navigator.share) {
      navigator.share({ url: url, title: document.title }).catch(function () {});
    } else if (navigator.clipboard) {
      navigator.clipboard.writeText(url).then(function () { button.textContent = button.dataset.done; });
    }
  });
  function offerCopy() {
    document.querySelectorAll("button.copy[hidden]").forEach(function (b) {
      if (navigator.share || navigator.clipboard) { b.hidden = false; }
    });
  }
  offerCopy();
  document.body.addEventListener("htmx:afterSettle", offerCopy);
}());
