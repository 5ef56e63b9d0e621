/* The keyboard-only entry screens (templates/entry/type_form.html, type_pass.html).
   Both pages work without this file; the server is the judge of every answer. With it:
   - a key that completes an answer moves to the next field (one keystroke an answer);
     Enter moves on, and sends the pass from the last field; Backspace in an empty field
     goes back (Shift+Tab too, as always);
   - a key the field cannot take is refused at once, with the message beside the field,
     and the focus stays;
   - questions the skip logic leaves out are hidden, skipped and cleared;
   - the procedure is found by its code or part of its name, in a list driven by the
     arrow keys and Enter;
   - the pass is saved as a draft each time a field is left, so a closed tab loses
     nothing. */
(function () {
  "use strict";
  var NO_ANSWER = "-", NOT_APPLICABLE = "/";

  var serial = document.getElementById("serial");
  if (serial) {
    serial.focus();
    serial.select();
  }

  var form = document.getElementById("pass-form");
  if (!form || !window.fetch) return;
  var fields = Array.prototype.slice.call(form.querySelectorAll("input[data-kind]"));
  var byCode = {};
  fields.forEach(function (input) { byCode[input.name] = input; });
  var finish = form.querySelector("button[value=complete]");
  var statusLine = document.getElementById("draft-status");
  var token = form.querySelector("input[name=csrf_token]");
  var procedures = readProcedures();
  var dirty = false, sending = false, timer = null;

  // --- what a field holds -------------------------------------------------------------

  function row(input) { return input.closest(".entry-field"); }
  function kind(input) { return input.getAttribute("data-kind"); }
  function keys(input) { return (input.getAttribute("data-keys") || "").split(" ").filter(Boolean); }
  function hasNotApplicable(input) { return input.hasAttribute("data-na"); }
  function singleKeys(input) { return keys(input).every(function (k) { return k.length === 1; }); }

  /* Every complete entry code of a field with options: its values, - and maybe /. */
  function codes(input) {
    var all = keys(input).concat([NO_ANSWER]);
    if (hasNotApplicable(input)) all.push(NOT_APPLICABLE);
    return all;
  }

  /* The options of a multi-select as typed: "135", or "10 12" where values are longer. */
  function parts(input, text) {
    if (singleKeys(input)) return text.replace(/[ ,]/g, "").split("");
    return text.split(/[ ,]+/).filter(Boolean);
  }

  /* The option values a field stands for, as the skip logic reads them. */
  function chosen(input) {
    var text = input.value.trim();
    if (!text || text === NO_ANSWER) return [];
    if (text === NOT_APPLICABLE) return [input.getAttribute("data-na")];
    if (kind(input) === "multi") return parts(input, text);
    return [text];
  }

  /* Why the field's value cannot be kept, or "" (blank: only text may stay blank). */
  function problem(input) {
    var text = input.value.trim();
    var what = kind(input);
    if (!text) return what === "text" ? "" : form.getAttribute("data-blank");
    if (what === "text" || text === NO_ANSWER) return "";
    if (what === "procedure") return procedureCode(text) ? "" : form.getAttribute("data-no-procedure");
    if (text === NOT_APPLICABLE) return hasNotApplicable(input) ? "" : input.getAttribute("data-hint");
    if (what === "multi") {
      var values = keys(input);
      var ok = parts(input, text).every(function (part) { return values.indexOf(part) >= 0; });
      return ok ? "" : input.getAttribute("data-hint");
    }
    return keys(input).indexOf(text) >= 0 ? "" : input.getAttribute("data-hint");
  }

  function say(input, message, origin) {
    var box = document.getElementById(input.id + "-error");
    box.textContent = message || "";
    row(input).classList.toggle("has-error", !!message);
    if (message) {
      input.setAttribute("aria-invalid", "true");
      row(input).setAttribute("data-origin", origin || "page");
    } else {
      input.removeAttribute("aria-invalid");
      row(input).removeAttribute("data-origin");
    }
  }

  // --- skip logic and moving between fields ---------------------------------------------

  /* Hide (and clear) the questions the answers so far leave out; in the paper's order,
     so a question's controller is settled before it. */
  function applySkips() {
    fields.forEach(function (input) {
      var target = input.getAttribute("data-show-item");
      if (!target) return;
      var controller = byCode[target];
      var wanted = input.getAttribute("data-show-values").split(" ");
      var shown = !!controller && !row(controller).hidden &&
        chosen(controller).some(function (value) { return wanted.indexOf(value) >= 0; });
      row(input).hidden = !shown;
      if (!shown && input.value) {
        input.value = "";
        dirty = true;
      }
      if (!shown) say(input, "");
    });
  }

  function shownFields() { return fields.filter(function (input) { return !row(input).hidden; }); }

  function go(input) {
    input.focus();
    input.select();
  }

  function next(input) {
    var shown = shownFields();
    var after = shown[shown.indexOf(input) + 1];
    if (after) go(after);
    else send();
  }

  function previous(input) {
    var shown = shownFields();
    var before = shown[shown.indexOf(input) - 1];
    if (before) go(before);
  }

  /* Leave a field forwards: only with a value it can keep. */
  function leave(input) {
    var message = problem(input);
    say(input, message);
    if (message) return;
    changed(input);
    next(input);
  }

  /* Send the finished pass; a field still wrong or blank takes the focus instead. */
  function send() {
    var wrong = shownFields().filter(function (input) { return problem(input); })[0];
    if (wrong) {
      say(wrong, problem(wrong));
      go(wrong);
      return;
    }
    if (form.requestSubmit) form.requestSubmit(finish);
    else finish.click();
  }

  function changed(input) {
    dirty = true;
    applySkips();
  }

  // --- keys ------------------------------------------------------------------------------

  /* A key in a field with options: kept if it makes or begins an answer; an answer no
     longer code begins moves on at once. */
  function optionKey(input, key) {
    var value;
    if (singleKeys(input)) value = key;
    else value = input.value.slice(0, input.selectionStart) + key + input.value.slice(input.selectionEnd);
    var all = codes(input);
    var complete = all.indexOf(value) >= 0;
    var begins = all.some(function (code) { return code !== value && code.indexOf(value) === 0; });
    if (!complete && !begins) {
      say(input, input.getAttribute("data-hint"));
      return;
    }
    input.value = value;
    say(input, "");
    changed(input);
    if (complete && !begins) next(input);
  }

  /* Whether a key typed now replaces the whole field: it is empty, or all selected. */
  function replaced(input) {
    return !input.value || (input.selectionStart === 0 && input.selectionEnd === input.value.length);
  }

  /* A key in a multi-select: options one after another (and separators), or - or / alone. */
  function multiKey(input, key) {
    var empty = replaced(input);
    if (key === NO_ANSWER || (key === NOT_APPLICABLE && hasNotApplicable(input))) {
      if (!empty) return say(input, input.getAttribute("data-hint"));
      input.value = key;
      say(input, "");
      changed(input);
      return next(input);
    }
    var allowed = keys(input).join("") + (singleKeys(input) ? "" : " ,");
    if (key === " " || key === ",") allowed += key;
    if (allowed.indexOf(key) < 0) return say(input, input.getAttribute("data-hint"));
    if (empty || input.value === NO_ANSWER || input.value === NOT_APPLICABLE) input.value = "";
    input.value = input.value.slice(0, input.selectionStart) + key + input.value.slice(input.selectionEnd);
    say(input, "");
    changed(input);
  }

  form.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-kind")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (kind(input) === "procedure" && listKey(input, event)) return;
    if (event.key === "Enter") {
      event.preventDefault();
      leave(input);
    } else if (event.key === NO_ANSWER && kind(input) === "procedure" && replaced(input)) {
      event.preventDefault();  // no procedure on the paper: one key, as for a scale
      input.value = NO_ANSWER;
      closeList(input);
      leave(input);
    } else if (event.key === "Backspace" && input.value === "") {
      event.preventDefault();
      previous(input);
    } else if (event.key.length === 1 && input.hasAttribute("data-keys")) {
      event.preventDefault();
      if (kind(input) === "multi") multiKey(input, event.key);
      else optionKey(input, event.key);
    }
  });

  form.addEventListener("focusin", function (event) {
    if (event.target.hasAttribute("data-kind")) event.target.select();
  });

  form.addEventListener("input", function (event) {
    if (!event.target.hasAttribute("data-kind")) return;
    say(event.target, "");
    changed(event.target);
  });

  /* Leaving a field: say what is wrong with it (the focus goes where it was sent), and
     save the draft a moment later. */
  form.addEventListener("focusout", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-kind")) return;
    if (input.value.trim()) say(input, problem(input));
    schedule();
  });

  form.addEventListener("submit", function () {
    sending = true;
    clearTimeout(timer);
  });

  // --- the procedure: its code or part of its name ---------------------------------------

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d").toLowerCase().trim();
  }

  function readProcedures() {
    var list = document.getElementById("procedures");
    if (!list) return [];
    return Array.prototype.map.call(list.options, function (option) {
      var names = option.textContent + " " + (option.getAttribute("data-names") || "");
      return {code: option.value, name: option.textContent, folded: fold(names)};
    });
  }

  function procedureCode(text) {
    var wanted = fold(text);
    var found = procedures.filter(function (p) { return fold(p.code) === wanted; })[0];
    return found ? found.code : "";
  }

  /* Codes that begin with what is typed first, then names (Vietnamese or English, accents
     optional) that contain it. */
  function matches(text) {
    var wanted = fold(text);
    if (!wanted || wanted === NO_ANSWER) return [];
    var byCode = procedures.filter(function (p) { return fold(p.code).indexOf(wanted) === 0; });
    var byName = procedures.filter(function (p) {
      return byCode.indexOf(p) < 0 && p.folded.indexOf(wanted) >= 0;
    });
    return byCode.concat(byName).slice(0, 8);
  }

  function listOf(input) { return document.getElementById(input.id + "-list"); }

  function options(input) {
    var list = listOf(input);
    return list && !list.hidden ? Array.prototype.slice.call(list.children) : [];
  }

  function activate(input, option) {
    options(input).forEach(function (li) { li.setAttribute("aria-selected", String(li === option)); });
    if (option) input.setAttribute("aria-activedescendant", option.id);
    else input.removeAttribute("aria-activedescendant");
  }

  function closeList(input) {
    var list = listOf(input);
    list.hidden = true;
    list.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function pick(input, option) {
    input.value = option.getAttribute("data-code");
    closeList(input);
    say(input, "");
    leave(input);
  }

  function showMatches(input) {
    var list = listOf(input);
    var found = matches(input.value);
    list.textContent = "";
    found.forEach(function (procedure, index) {
      var li = document.createElement("li");
      li.id = input.id + "-option-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("data-code", procedure.code);
      li.textContent = procedure.code + " · " + procedure.name;
      li.addEventListener("mousedown", function (event) {
        event.preventDefault();
        pick(input, li);
      });
      list.appendChild(li);
    });
    list.hidden = !found.length;
    input.setAttribute("aria-expanded", String(!!found.length));
    activate(input, list.children[0] || null);
  }

  /* Arrow keys move in the list, Enter picks, Escape closes; true if the key was used. */
  function listKey(input, event) {
    var shown = options(input);
    if (!shown.length) return false;
    var at = shown.indexOf(document.getElementById(input.getAttribute("aria-activedescendant") || ""));
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      activate(input, shown[(at + step + shown.length) % shown.length]);
      return true;
    }
    if (event.key === "Enter" && at >= 0) {
      event.preventDefault();
      pick(input, shown[at]);
      return true;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      closeList(input);
      return true;
    }
    return false;
  }

  fields.filter(function (input) { return kind(input) === "procedure"; }).forEach(function (input) {
    var list = document.createElement("ul");
    list.id = input.id + "-list";
    list.className = "entry-options";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.parentNode.insertBefore(list, input.nextSibling);
    input.removeAttribute("list");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("input", function () { showMatches(input); });
    input.addEventListener("blur", function () { closeList(input); });
  });

  // --- the draft ---------------------------------------------------------------------------

  function typed() {
    var answers = {};
    fields.forEach(function (input) { answers[input.name] = input.value; });
    return answers;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(function () { saveDraft(false); }, 300);
  }

  /* Messages the server gave replace its earlier ones; the page's own stay. */
  function showServerErrors(errors) {
    fields.forEach(function (input) {
      if (errors[input.name]) say(input, errors[input.name], "server");
      else if (row(input).getAttribute("data-origin") === "server") say(input, "");
    });
  }

  function saveDraft(leaving) {
    if (!dirty || sending) return;
    dirty = false;
    fetch(form.getAttribute("data-draft-url"), {
      method: "POST",
      credentials: "same-origin",
      keepalive: leaving,
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": token ? token.value : ""
      },
      body: JSON.stringify(typed())
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.message || "");
        if (sending) return;
        showServerErrors(data.errors || {});
        statusLine.textContent = form.getAttribute("data-saved");
      });
    }).catch(function (error) {
      dirty = true;
      if (!sending) {
        statusLine.textContent = form.getAttribute("data-save-failed") +
          (error && error.message ? " " + error.message : "");
      }
    });
  }

  window.addEventListener("pagehide", function () { saveDraft(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveDraft(true);
  });

  // --- on arrival ----------------------------------------------------------------------------

  applySkips();
  var start = form.querySelector("[autofocus]");
  if (start && !row(start).hidden) go(start);
  else if (shownFields().length) go(shownFields()[0]);
})();
