// The citizens' look-up, on top of pages that work without it. Like the tip form's map
// (tip-form.js): a tap at city zoom only zooms in to street level, where a tap drops a pin the
// user can drag (or move with the arrow keys) to correct; each place of the pin asks the server
// for the card of that point and swaps it in. The card carries its area's outline and its
// neighbours' (drawn thin and labelled, so that one sees where the border runs).
(function () {
  "use strict";
  var frame = document.querySelector("[data-map][data-point-url]");
  var map = frame ? window[frame.dataset.map] : null;
  var hintLine = document.getElementById("map-hint");
  var STREET = 17; // as the tip form: a pin is placed at street level only
  var pin = null;
  var drawn = null; // the card's outline and its neighbours
  var shownArea = null; // the area the map was last fitted to
  var AREA = { color: "#b5171e", weight: 3, fillColor: "#b5171e", fillOpacity: 0.12 };
  var NEIGHBOUR = { color: "#1d4e89", weight: 1.5, dashArray: "4 3", fill: false };
  var KEY_STEP = 20; // pixels an arrow key moves the pin

  function streetLevel() {
    // with a pin or a place drawn the user is already near: only a far zoomed-out tap zooms in
    return map.getZoom() >= (pin || drawn ? STREET - 3 : STREET - 1);
  }

  function hint() {
    if (!hintLine || !map) { return; }
    var say = pin ? hintLine.dataset.drag : streetLevel() ? hintLine.dataset.tap : hintLine.dataset.zoomIn;
    if (hintLine.textContent !== say) { hintLine.textContent = say; }
  }

  function place(latlng) {
    if (pin) { pin.setLatLng(latlng); hint(); return; }
    var label = frame.dataset.pinLabel;
    pin = L.marker(latlng, { draggable: true, autoPan: true, keyboard: true, title: label, alt: label }).addTo(map);
    pin.on("dragend", function () { lookUp(pin.getLatLng()); });
    var timer = null;
    pin.getElement().addEventListener("keydown", function (event) {
      var moves = { ArrowUp: [0, -KEY_STEP], ArrowDown: [0, KEY_STEP], ArrowLeft: [-KEY_STEP, 0], ArrowRight: [KEY_STEP, 0] };
      var move = moves[event.key];
      if (!move) { return; }
      event.preventDefault();
      var at = map.latLngToContainerPoint(pin.getLatLng()).add(move);
      pin.setLatLng(map.containerPointToLatLng(at));
      clearTimeout(timer);
      timer = setTimeout(function () { lookUp(pin.getLatLng()); }, 400);
    });
    hint();
  }

  function lookUp(latlng) {
    place(latlng);
    var url = frame.dataset.pointUrl + "?lat=" + latlng.lat.toFixed(6) + "&lon=" + latlng.lng.toFixed(6);
    htmx.ajax("GET", url, { target: "#card", swap: "outerHTML" });
  }

  function label(name) {
    var text = document.createElement("span");
    text.textContent = name; // a name is text, never markup
    return text;
  }

  // Draw what the card is about: its area's outline, the areas beside it and the pin.
  function showCard() {
    var card = document.getElementById("card");
    if (!card || !map) { return; }
    if (drawn) { map.removeLayer(drawn); drawn = null; }
    if (card.dataset.lat) { place(L.latLng(Number(card.dataset.lat), Number(card.dataset.lon))); }
    if (!card.dataset.outline) { return; }
    drawn = L.featureGroup().addTo(map);
    JSON.parse(card.dataset.neighbours || "[]").forEach(function (n) {
      var shape = L.geoJSON(n.outline, { style: NEIGHBOUR, interactive: false }).addTo(drawn);
      var where = shape.getLayers()[0];
      var middle = where && where.getCenter ? where.getCenter() : shape.getBounds().getCenter();
      // a label, not a tooltip: it is always there and answers no hover
      var icon = L.divIcon({ className: "neighbour-label", html: label(n.name), iconSize: [0, 0] });
      L.marker(middle, { icon: icon, interactive: false, keyboard: false }).addTo(drawn);
    });
    var outline = L.geoJSON(JSON.parse(card.dataset.outline), { style: AREA, interactive: false }).addTo(drawn);
    if (card.dataset.area !== shownArea) { // a new place: show it whole; the same one: stay
      shownArea = card.dataset.area;
      // with a margin, so that the neighbours beside it and their names show too
      map.fitBounds(outline.getBounds().pad(0.6), { maxZoom: STREET });
    }
    hint();
  }

  // the communes' names follow a finger on a phone and stay: once a tap is answered they go
  function closeTooltips() {
    map.eachLayer(function (layer) {
      var tip = layer.getTooltip && layer.getTooltip();
      if (tip && !tip.options.permanent) { layer.closeTooltip(); }
    });
  }

  if (map) {
    map.on("click", function (event) {
      setTimeout(closeTooltips, 0);
      if (!streetLevel()) {
        map.setView(event.latlng, STREET);
        return;
      }
      lookUp(event.latlng);
    });
    map.on("zoomend", hint);
    showCard();
    hint();
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var flash = document.getElementById("flash");
    if (event.detail.target && event.detail.target.id === "flash") {
      // nothing at that point (or a bad request): hide the earlier card, show the message
      var card = document.getElementById("card");
      if (card) { card.hidden = true; }
      if (drawn) { map.removeLayer(drawn); drawn = null; shownArea = null; }
      flash.scrollIntoView({ block: "nearest" });
      return;
    }
    if (event.detail.target && event.detail.target.id === "card") {
      flash.innerHTML = "";
      var first = shownArea === null;
      showCard();
      // the first answer is shown; later ones (a dragged pin) keep the map where the thumb is
      if (first) { document.getElementById("card").scrollIntoView({ behavior: "smooth", block: "start" }); }
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
        var here = L.latLng(position.coords.latitude, position.coords.longitude);
        if (map) { map.setView(here, STREET); }
        lookUp(here);
      }, function (error) {
        status.textContent = error.code === 1 ? locate.dataset.denied : locate.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // Lists lead to the chosen place at once; the button stays for those without JavaScript.
  // A changed list clears the lists below it: their choice belonged to the earlier one.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (!select || !select.value) { return; }
    var below = false;
    select.form.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      if (below) { s.value = ""; }
      if (s === select) { below = true; }
    });
    select.form.requestSubmit();
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
