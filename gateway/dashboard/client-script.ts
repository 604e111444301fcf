/**
 * The dashboard's browser script, served as `/dashboard/app.js`: request forms post to
 * `/rpc`, live events come from the SSE route, history from `/history/{user}`; the operator
 * sections' part is `operator-script.ts`. Everything from the network is shown with
 * `textContent`, never parsed as HTML.
 * @module
 */
import { operatorScript } from "./operator-script.ts";

/** The script's source (plain browser JavaScript, no build step). */
export const clientScript = String.raw`"use strict";

/** Turns a form's inputs into the request message, by each input's data-kind. */
function requestOf(form) {
  const request = {};
  for (const input of form.querySelectorAll("[data-kind]")) {
    const kind = input.dataset.kind;
    if (kind === "bool") {
      if (input.checked) request[input.name] = true;
      continue;
    }
    const text = input.value.trim();
    if (text === "") continue;
    if (kind === "number") {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new Error(input.name + ": not a number");
      request[input.name] = n;
    } else if (kind === "int64") {
      if (!/^-?[0-9]+$/.test(text)) throw new Error(input.name + ": not a whole number");
      request[input.name] = text;
    } else if (kind === "json") {
      try {
        request[input.name] = JSON.parse(text);
      } catch (e) {
        throw new Error(input.name + ": not valid JSON (" + e.message + ")");
      }
    } else {
      request[input.name] = input.value;
    }
  }
  return request;
}

function showReply(form, ok, status, text) {
  const reply = form.querySelector(".reply");
  reply.hidden = false;
  reply.classList.toggle("error", !ok);
  reply.querySelector(".status").textContent = status;
  reply.querySelector(".body").textContent = text;
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

async function call(form) {
  let request;
  try {
    request = requestOf(form);
  } catch (e) {
    return showReply(form, false, "invalid input", e.message);
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const body = { namespace: form.dataset.namespace, service: form.dataset.service, endpoint: form.dataset.endpoint, request };
    // Every field of the reply, defaults too: a form's reader wants to see what is zero, not guess.
    const headers = { "content-type": "application/json", "x-micro-emit-defaults": "1" };
    const response = await fetch("/rpc", { method: "POST", headers, body: JSON.stringify(body) });
    const text = await response.text();
    let status = response.status + " " + response.statusText;
    if (!response.ok) {
      try {
        status += " · " + JSON.parse(text).code;
      } catch {}
    }
    showReply(form, response.ok, status, pretty(text));
  } catch (e) {
    showReply(form, false, "network error", e.message);
  } finally {
    button.disabled = false;
  }
}

for (const form of document.querySelectorAll("form.call")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    call(form);
  });
}

// Live events, newest first, the last 200 kept. The stream names each event by its topic,
// which EventSource can only listen to by name, so the stream is read with fetch instead.
const eventsForm = document.getElementById("events-form");
if (eventsForm) {
  const list = document.getElementById("events-list");
  const state = document.getElementById("events-state");
  const stop = document.getElementById("events-stop");
  let watching = null;
  const close = () => {
    if (watching) watching.abort();
    watching = null;
    stop.disabled = true;
  };
  const show = (data) => {
    const item = document.createElement("li");
    let text = data;
    // The event's own time when it has one, else when it arrived here: every row has a time.
    let at = Date.now();
    try {
      const e = JSON.parse(data);
      text = e.topic + "  " + JSON.stringify(e.data ?? e.dataBase64) + (e.user ? "  user=" + e.user : "");
      if (typeof e.time === "number" && e.time > 0) at = e.time;
    } catch {}
    const stamp = document.createElement("time");
    stamp.dateTime = new Date(at).toISOString();
    stamp.textContent = stamp.dateTime;
    item.append(stamp, "  " + text);
    list.prepend(item);
    while (list.children.length > 200) list.lastElementChild.remove();
  };
  const watch = async (filter, controller) => {
    try {
      const response = await fetch("/events/" + encodeURIComponent(filter) + "/stream", { signal: controller.signal });
      if (!response.ok) {
        const reply = await response.json().catch(() => ({}));
        throw new Error(reply.detail || response.statusText);
      }
      state.textContent = "watching " + filter;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += chunk.value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
          if (data) show(data);
        }
      }
      state.textContent = "stream ended";
    } catch (e) {
      state.textContent = controller.signal.aborted ? "stopped" : "error: " + e.message;
    }
  };
  stop.addEventListener("click", close);
  eventsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    close();
    const filter = document.getElementById("events-filter").value.trim() || ">";
    watching = new AbortController();
    stop.disabled = false;
    state.textContent = "connecting";
    watch(filter, watching);
  });
}

// A user's audit history from the audit service.
const historyForm = document.getElementById("history-form");
if (historyForm) {
  historyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = document.getElementById("history-user").value.trim();
    const error = document.getElementById("history-error");
    const table = document.getElementById("history-table");
    const body = table.querySelector("tbody");
    error.hidden = true;
    body.replaceChildren();
    try {
      const response = await fetch("/history/" + encodeURIComponent(user));
      const reply = await response.json();
      if (!response.ok) throw new Error(reply.detail || response.statusText);
      for (const e of reply.events || []) {
        const row = document.createElement("tr");
        // The shape of a replay: parsed "data" for JSON events, "dataBase64" otherwise.
        let data = e.data === undefined ? "" : typeof e.data === "string" ? e.data : JSON.stringify(e.data);
        if (e.dataBase64 !== undefined) {
          try {
            data = new TextDecoder().decode(Uint8Array.from(atob(e.dataBase64), (c) => c.charCodeAt(0)));
          } catch {}
        }
        for (const cell of [new Date(Number(e.time || 0)).toISOString(), e.topic, e.source, data]) {
          const td = document.createElement("td");
          td.textContent = cell ?? "";
          row.append(td);
        }
        body.append(row);
      }
      if (body.children.length === 0) {
        const row = document.createElement("tr");
        const td = document.createElement("td");
        td.colSpan = 4;
        td.textContent = "no events for " + user;
        row.append(td);
        body.append(row);
      }
      table.hidden = false;
    } catch (e) {
      error.textContent = "history: " + e.message;
      error.hidden = false;
    }
  });
}
` + operatorScript;
