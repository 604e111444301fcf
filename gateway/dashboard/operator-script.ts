/**
 * The browser script of the dashboard's operator sections (part of `/dashboard/app.js`): it
 * fills them from `/dashboard/api/*`, refreshes nodes every 2 s and topics every 5 s without a
 * reload, asks `confirm()` before every write (weights, redrive), and posts the publish form
 * to `/events/{topic}`. Data from the network is shown with `textContent` only.
 * @module
 */

/** The script's source (plain browser JavaScript, no build step). */
export const operatorScript = String.raw`
const operator = (() => {
  async function api(path, init) {
    const response = await fetch("/dashboard/api/" + path, init);
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text };
    }
    if (!response.ok) throw new Error(response.status + " " + (body.code ? body.code + ": " : "") + (body.detail || response.statusText));
    return body;
  }
  const post = (path, body) => api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const cell = (row, value, className) => {
    const td = document.createElement("td");
    td.textContent = value === undefined || value === null ? "" : String(value);
    if (className) td.className = className;
    row.append(td);
    return td;
  };
  const num = (v) => (typeof v === "number" ? String(Math.round(v * 100) / 100) : "-");
  const time = (ms) => (typeof ms === "number" && ms > 0 ? new Date(ms).toISOString() : "-");
  const showError = (element, error) => {
    element.textContent = error ? error.message : "";
    element.hidden = !error;
  };
  const button = (text, onClick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  };
  // Runs refresh now and every periodMs after each run ends, so slow answers never pile up.
  const every = (periodMs, refresh) => {
    const run = async () => {
      await refresh();
      setTimeout(run, periodMs);
    };
    run();
  };
  return { api, post, cell, num, time, showError, button, every };
})();

const nodesTable = document.getElementById("nodes-table");
if (nodesTable) {
  const { api, cell, num, time, showError, every } = operator;
  const body = nodesTable.querySelector("tbody");
  const error = document.getElementById("nodes-error");
  const updated = document.getElementById("nodes-updated");
  every(2000, async () => {
    try {
      const reply = await api("nodes");
      const rows = [];
      for (const n of reply.nodes) {
        for (const e of n.endpoints.length > 0 ? n.endpoints : [undefined]) {
          const row = document.createElement("tr");
          row.dataset.service = n.service;
          row.dataset.node = n.node;
          if (e) row.dataset.endpoint = e.name;
          cell(row, n.service);
          cell(row, n.version);
          cell(row, n.node);
          cell(row, n.status, n.status === "ok" ? "health ok" : "health bad");
          cell(row, n.pingMs === null ? "-" : num(n.pingMs));
          cell(row, e ? e.name : "-");
          cell(row, e ? e.requests : "-", "requests");
          cell(row, e ? e.errors : "-", e && e.errors > 0 ? "errors bad" : "errors");
          cell(row, e ? num(e.averageMs) : "-");
          cell(row, e ? num(e.p50Ms) : "-");
          cell(row, e ? num(e.p99Ms) : "-");
          cell(row, e && e.mailboxDepth !== undefined ? e.mailboxDepth : "-", "mailbox");
          cell(row, e ? e.lastError : "", "bad");
          rows.push(row);
        }
      }
      body.replaceChildren(...rows);
      updated.textContent = "updated " + time(reply.time);
      showError(error, null);
    } catch (e) {
      showError(error, e);
    }
  });
}

const weightsList = document.getElementById("weights-list");
if (weightsList) {
  const { api, post, showError, button } = operator;
  const error = document.getElementById("weights-error");
  const change = async (service, weights, question) => {
    if (!confirm(question)) return;
    try {
      await post("weights/" + encodeURIComponent(service), { weights });
      showError(error, null);
    } catch (e) {
      showError(error, e);
    }
    await load();
  };
  const serviceBlock = (s) => {
    const block = document.createElement("form");
    block.className = "weights";
    block.dataset.service = s.service;
    const title = document.createElement("h4");
    title.textContent = s.service + (s.weights ? "" : " (no weights: every running version gets calls)");
    block.append(title);
    const versions = [...new Set([...s.running, ...Object.keys(s.weights || {})])];
    for (const version of versions) {
      const label = document.createElement("label");
      label.className = "weight";
      const input = document.createElement("input");
      input.type = "number";
      input.min = "0";
      input.max = "100";
      input.step = "1";
      input.name = version;
      input.value = s.weights ? String(s.weights[version] ?? 0) : "";
      input.placeholder = "-";
      label.append(version + (s.running.includes(version) ? "" : " (not running)") + " ", input);
      block.append(label, " ");
    }
    const save = button("Save", () => {
      const weights = {};
      for (const input of block.querySelectorAll("input")) weights[input.name] = input.value.trim() === "" ? 0 : Number(input.value);
      const text = Object.entries(weights).map(([v, w]) => v + "=" + w).join(", ");
      change(s.service, weights, "Send " + s.service + "'s calls by these weights: " + text + "?");
    });
    save.className = "save";
    const clear = button("Clear", () => change(s.service, null, "Clear " + s.service + "'s weights (every running version gets calls)?"));
    clear.className = "clear";
    clear.disabled = !s.weights;
    block.append(save, " ", clear);
    block.addEventListener("submit", (event) => {
      event.preventDefault();
      save.click();
    });
    return block;
  };
  const load = async () => {
    try {
      const reply = await api("weights");
      weightsList.replaceChildren(...reply.services.map(serviceBlock));
      if (reply.services.length === 0) weightsList.textContent = "no service registered";
    } catch (e) {
      showError(error, e);
    }
  };
  load();
}

const dlqForm = document.getElementById("dlq-form");
if (dlqForm) {
  const { api, post, cell, time, showError, button } = operator;
  const input = document.getElementById("dlq-service");
  const error = document.getElementById("dlq-error");
  const state = document.getElementById("dlq-state");
  const table = document.getElementById("dlq-table");
  const detail = document.getElementById("dlq-detail");
  const redrive = document.getElementById("dlq-redrive");
  let listed = { service: "", count: 0 };
  const list = async (service) => {
    showError(error, null);
    detail.hidden = true;
    try {
      const reply = await api("dead-letters/" + encodeURIComponent(service));
      const rows = reply.letters.map((l) => {
        const row = document.createElement("tr");
        row.dataset.sequence = String(l.deadLetterSequence);
        cell(row, l.deadLetterSequence);
        cell(row, time(l.time), "time");
        cell(row, l.topic);
        cell(row, l.deliveries);
        cell(row, l.error, "bad");
        row.append(button("Inspect", async () => {
          try {
            const letter = await api("dead-letters/" + encodeURIComponent(service) + "/" + l.deadLetterSequence);
            detail.textContent = JSON.stringify(letter, null, 2);
            detail.hidden = false;
          } catch (e) {
            showError(error, e);
          }
        }));
        return row;
      });
      table.querySelector("tbody").replaceChildren(...rows);
      table.hidden = false;
      listed = { service, count: rows.length };
      redrive.disabled = rows.length === 0;
      state.textContent = rows.length === 0 ? "no dead letters for " + service : rows.length + " dead letter" + (rows.length === 1 ? "" : "s") + " of " + service;
    } catch (e) {
      showError(error, e);
    }
  };
  dlqForm.addEventListener("submit", (event) => {
    event.preventDefault();
    list(input.value.trim());
  });
  redrive.addEventListener("click", async () => {
    const service = listed.service;
    if (!confirm("Send " + service + "'s dead letters back to " + service + "?")) return;
    try {
      const reply = await post("dead-letters/" + encodeURIComponent(service) + "/redrive", {});
      await list(service);
      state.textContent = "redrove " + reply.redriven + " to " + service;
    } catch (e) {
      showError(error, e);
    }
  });
  operator.showDeadLetters = (service) => {
    input.value = service;
    list(service);
  };
}

const topicsTable = document.getElementById("topics-table");
if (topicsTable) {
  const { api, cell, time, showError, button, every } = operator;
  const error = document.getElementById("topics-error");
  const updated = document.getElementById("topics-updated");
  const fill = (id, items, row) => document.getElementById(id).querySelector("tbody").replaceChildren(...items.map((item) => {
    const tr = document.createElement("tr");
    row(tr, item);
    return tr;
  }));
  every(5000, async () => {
    try {
      const o = await api("events");
      fill("topics-table", o.topics, (tr, t) => {
        tr.dataset.topic = t.topic;
        cell(tr, t.topic);
        cell(tr, t.messages);
      });
      fill("consumers-table", o.consumers, (tr, c) => {
        tr.dataset.consumer = c.name;
        cell(tr, c.name);
        cell(tr, c.filter);
        cell(tr, c.pending, c.pending > 0 ? "lag bad" : "lag");
        cell(tr, c.ackPending);
        cell(tr, c.redelivered);
        cell(tr, time(c.lastDelivered), "time");
      });
      fill("dlq-counts", o.deadLetters, (tr, d) => {
        tr.dataset.service = d.service;
        cell(tr, d.service);
        cell(tr, d.letters, "bad");
        const td = document.createElement("td");
        td.append(button("Show", () => operator.showDeadLetters && operator.showDeadLetters(d.service)));
        tr.append(td);
      });
      updated.textContent = "updated " + time(Date.now()) + (o.truncated ? " (more exist than shown)" : "");
      showError(error, null);
    } catch (e) {
      showError(error, e);
    }
  });
}

const publishForm = document.getElementById("publish-form");
if (publishForm) {
  const state = document.getElementById("publish-state");
  publishForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const topic = document.getElementById("publish-topic").value.trim();
    const user = document.getElementById("publish-user").value.trim();
    const data = document.getElementById("publish-data").value;
    try {
      JSON.parse(data);
    } catch (e) {
      state.textContent = "data is not valid JSON: " + e.message;
      return;
    }
    const headers = { "content-type": "application/json" };
    if (user !== "") headers["x-micro-user"] = user;
    try {
      const response = await fetch("/events/" + encodeURIComponent(topic), { method: "POST", headers, body: data });
      const reply = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(response.status + " " + (reply.code ? reply.code + ": " : "") + (reply.detail || response.statusText));
      state.textContent = "published " + topic + " (sequence " + reply.sequence + ") at " + new Date().toISOString();
    } catch (e) {
      state.textContent = "error: " + e.message;
    }
  });
}
`;
