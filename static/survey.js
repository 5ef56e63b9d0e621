/* Progressive enhancement of the citizen form; the form works without it.
   - keeps a draft of the answers in this browser until they are sent;
   - sends with fetch and retries when the line drops (same response id, so
     the server stores the answers once however many tries reach it). */
(function () {
  var form = document.getElementById("survey-form");
  if (!form || !window.fetch || !window.FormData) return;
  var key = "sipas-draft:" + form.getAttribute("data-draft");
  var status = document.getElementById("send-status");
  var store = window.localStorage;

  function fields() { return form.querySelectorAll("input[name],select[name],textarea[name]"); }
  function skip(el) { return el.type === "hidden"; }

  function save() {
    var draft = {};
    fields().forEach(function (el) {
      if (skip(el)) return;
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) (draft[el.name] = draft[el.name] || []).push(el.value);
      } else if (el.value) { draft[el.name] = [el.value]; }
    });
    try { store.setItem(key, JSON.stringify(draft)); } catch (e) { /* private mode */ }
  }

  function restore() {
    var draft;
    try { draft = JSON.parse(store.getItem(key) || "null"); } catch (e) { draft = null; }
    if (!draft || document.querySelector(".error-summary")) return;
    fields().forEach(function (el) {
      var values = draft[el.name];
      if (skip(el) || !values) return;
      if (el.type === "radio" || el.type === "checkbox") el.checked = values.indexOf(el.value) >= 0;
      else el.value = values[0];
    });
  }

  function send(body, attempt) {
    return fetch(form.action || window.location.href, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (response) {
        if (response.redirected && response.ok) {
          try { store.removeItem(key); } catch (e) { /* ignore */ }
          window.location.assign(response.url);
          return;
        }
        return response.text().then(function (html) {
          document.open(); document.write(html); document.close();
        });
      })
      .catch(function () {
        if (attempt >= 6) {
          status.textContent = form.getAttribute("data-offline") || "";
          form.querySelector("button[type=submit]").disabled = false;
          return;
        }
        status.textContent = form.getAttribute("data-retrying") || "";
        setTimeout(function () { send(body, attempt + 1); }, 1000 * Math.pow(2, attempt));
      });
  }

  var summary = document.getElementById("error-summary");
  if (summary) { window.scrollTo(0, 0); summary.focus(); }
  restore();
  form.addEventListener("change", save);
  form.addEventListener("input", save);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = form.getAttribute("data-sending") || "";
    send(new FormData(form), 0);
  });
})();
