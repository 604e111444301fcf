/**
 * The operator sections of the dashboard page: live nodes (health and per-endpoint stats),
 * version weights, event topics with consumer lag, dead letters, and a publish-event form.
 * The server renders their frames; the script (`client-script.ts`) fills them from
 * `/dashboard/api/*` and refreshes the live ones every 2 s, so the page never needs a reload.
 * @module
 */
import { html } from "hono/html";

/** The sections shown with an operator source. */
export function operatorSections() {
  return html`<section id="nodes" class="panel"><h2>Nodes <span id="nodes-updated" class="muted"></span></h2>
<div id="nodes-error" class="error" hidden></div>
<table id="nodes-table"><thead><tr><th>service</th><th>version</th><th>node</th><th>health</th><th>ping ms</th><th>endpoint</th><th>requests</th><th>errors</th><th>avg ms</th><th>p50 ms</th><th>p99 ms</th><th>mailbox</th><th>last error</th></tr></thead><tbody></tbody></table>
</section>
<section id="traffic" class="panel"><h2>Traffic weights</h2>
<p class="muted">Share of the calls each version gets (0-100), as <code>micro traffic</code> sets them; every client follows within moments.</p>
<div id="weights-error" class="error" hidden></div>
<div id="weights-list"></div>
</section>
<section id="topics" class="panel"><h2>Event topics <span id="topics-updated" class="muted"></span></h2>
<div id="topics-error" class="error" hidden></div>
<table id="topics-table"><thead><tr><th>topic</th><th>events</th></tr></thead><tbody></tbody></table>
<h4>Consumers</h4>
<table id="consumers-table"><thead><tr><th>consumer</th><th>filter</th><th>lag</th><th>ack pending</th><th>redelivered</th><th>last delivered</th></tr></thead><tbody></tbody></table>
<h4>Dead letters per service</h4>
<table id="dlq-counts"><thead><tr><th>service</th><th>dead letters</th><th></th></tr></thead><tbody></tbody></table>
</section>
<section id="dead-letters" class="panel"><h2>Dead letters</h2>
<form id="dlq-form"><label for="dlq-service">service</label> <input id="dlq-service" required size="24" maxlength="256"> <button type="submit">List</button> <button type="button" id="dlq-redrive" disabled>Redrive all</button> <span id="dlq-state" class="muted"></span></form>
<div id="dlq-error" class="error" hidden></div>
<table id="dlq-table" hidden><thead><tr><th>seq</th><th>time</th><th>topic</th><th>deliveries</th><th>error</th><th></th></tr></thead><tbody></tbody></table>
<pre id="dlq-detail" hidden></pre>
</section>`;
}

/** The publish-event form (with a broker): posts to `POST /events/{topic}`. */
export function publishSection() {
  return html`<section id="publish" class="panel"><h2>Publish an event</h2>
<form id="publish-form">
<div class="field"><label for="publish-topic">topic</label> <input id="publish-topic" required size="32" maxlength="256" placeholder="orders.created"></div>
<div class="field"><label for="publish-user">user (optional)</label> <input id="publish-user" size="24" maxlength="256"></div>
<div class="field"><label for="publish-data">data (JSON)</label><br><textarea id="publish-data" rows="4">{}</textarea></div>
<button type="submit">Publish</button> <span id="publish-state" class="muted"></span>
</form>
</section>`;
}
