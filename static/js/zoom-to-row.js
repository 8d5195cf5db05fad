// The coverage page's map and its problem list.
// - A click on a listed problem zooms the map to it and shows the row's next steps ("Mở địa
//   bàn", "Lập tổ", "Bổ nhiệm thành viên"); a second click on the row's name opens it. Rows
//   swapped in by HTMX work too. Without JavaScript every row shows its steps.
// - A click (or Enter on a focused village) on an area of the map opens a popup with its name
//   and a link to its page. The features' label and url are map text, escaped by the server
//   (geo.maps.text), so they are put into the popup as the HTML they already are.
(function () {
  "use strict";
  var frame = document.querySelector("[data-map]");
  if (!frame) { return; }
  var map = window[frame.dataset.map];
  var current = null;
  document.documentElement.classList.add("zoom-rows");

  function showSteps(link) {
    document.querySelectorAll(".problem-list li.open").forEach(function (li) {
      li.classList.remove("open");
    });
    var row = link.closest("li");
    if (row) { row.classList.add("open"); }
    link.setAttribute("aria-expanded", "true");
    // On a phone the list is far below the map the click scrolls to: the same next steps
    // are repeated just under the map (CSS shows this bar on narrow screens only).
    var bar = document.getElementById("map-steps");
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "map-steps";
      bar.className = "map-steps";
      frame.insertAdjacentElement("afterend", bar);
    }
    bar.textContent = "";
    var steps = row && row.querySelector(".problem-steps");
    if (!steps) { return; }
    var name = document.createElement("strong");
    name.textContent = link.textContent.replace(/\s+/g, " ").trim();
    bar.appendChild(name);
    steps.querySelectorAll("a").forEach(function (a) {
      var copy = a.cloneNode(true);
      copy.removeAttribute("id");
      bar.appendChild(copy);
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.zoom[data-bounds]");
    if (!link || !map) { return; }
    if (current === link && link.getAttribute("href") !== "#") { return; }  // second click: go
    event.preventDefault();
    var b = link.dataset.bounds.split(",").map(Number);
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 17, padding: [20, 20] });
    if (current) {
      current.classList.remove("zoomed");
      current.setAttribute("aria-expanded", "false");
    }
    current = link;
    link.classList.add("zoomed");
    showSteps(link);
    frame.scrollIntoView({ block: "nearest" });
  });

  if (!map) { return; }
  // a path on our site only: the server writes them, this keeps a bad one from becoming a link
  var OWN_PATH = /^\/[A-Za-z0-9_\-\/?=&;.]*$/;

  function popupFor(layer) {
    var p = layer.feature.properties;
    var box = document.createElement("div");
    box.className = "map-popup";
    var name = document.createElement("strong");
    name.innerHTML = p.label;  // escaped on the server
    box.appendChild(name);
    if (p.state) {  // a village's status, in words
      var state = document.createElement("span");
      state.className = "map-popup-state";
      state.innerHTML = p.state;  // escaped on the server
      box.appendChild(document.createElement("br"));
      box.appendChild(state);
    }
    var open = document.createElement("a");
    open.className = "button primary";
    open.setAttribute("href", p.url.replace(/&amp;/g, "&"));
    open.innerHTML = p.open;  // escaped on the server
    box.appendChild(document.createElement("br"));
    var steps = document.createElement("span");
    steps.className = "map-popup-steps";
    steps.appendChild(open);
    if (p.step_url && OWN_PATH.test(p.step_url)) {  // a village without a team: "Lập tổ"
      open.className = "button";
      var step = document.createElement("a");
      step.className = "button primary";
      step.setAttribute("href", p.step_url.replace(/&amp;/g, "&"));
      step.innerHTML = p.step;  // escaped on the server
      steps.appendChild(step);
    }
    box.appendChild(steps);
    return box;
  }

  function plain(html) {
    var el = document.createElement("div");
    el.innerHTML = html;
    return el.textContent;
  }

  // an area of the map opens a popup with its link; villages are reachable from the keyboard
  // too: a focusable outline, Enter opens the popup and moves to its link
  function openable(layer) {
    var p = layer.feature && layer.feature.properties;
    if (!p || !p.url || !OWN_PATH.test(p.url)) { return; }
    layer.bindPopup(function () { return popupFor(layer); }, { minWidth: 230 });
    layer.on("popupopen", function (e) {
      var close = e.popup.getElement() && e.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close && frame.dataset.close) { close.setAttribute("aria-label", frame.dataset.close); }
      var a = e.popup.getElement() && e.popup.getElement().querySelector("a.button");
      if (a && layer._keyboard) { a.focus(); }
      layer._keyboard = false;
    });
    var path = layer.getElement && layer.getElement();
    if (!path || p.status.indexOf("share_") === 0) { return; }
    path.setAttribute("tabindex", "0");
    path.setAttribute("role", "button");
    path.setAttribute("aria-label", plain(p.label) + (p.state ? ": " + plain(p.state) : ""));
    path.addEventListener("keydown", function (e) {
      if (e.key !== "Enter" && e.key !== " ") { return; }
      e.preventDefault();
      layer._keyboard = true;
      layer.openPopup(layer.getBounds ? layer.getBounds().getCenter() : undefined);
    });
  }
  map.eachLayer(openable);
  // The city map's villages come from vector tiles (geo.maps.add_vector_tiles), with their
  // own tooltips and popups.
}());
