/** The dashboard's stylesheet, served as `/dashboard/style.css`. @module */

/** Plain CSS: readable without it, a little tidier with it. */
export const dashboardStyle = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { display: flex; align-items: baseline; gap: 1rem; padding: .6rem 1.2rem; background: #1d2330; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; }
header a { color: #9cc3ff; }
main { padding: 0 1.2rem 2rem; max-width: 70rem; }
h2 { font-size: 1rem; margin: 1.4rem 0 .5rem; }
h3 { font-size: .95rem; margin: .2rem 0; }
.service, #events, #history, .panel { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: .6rem .9rem; margin-bottom: .8rem; }
.tag { font-size: .75rem; background: #e8ecf3; border-radius: 3px; padding: 0 .35rem; font-weight: normal; }
.tag.warn { background: #fde7c2; }
.muted { color: #6b7385; }
.nodes { margin: .3rem 0; padding-left: 1.2rem; }
.meta span { font-size: .8rem; color: #6b7385; }
.endpoint { margin: .3rem 0 .3rem .6rem; }
form.call { margin: .4rem 0 .6rem 1rem; }
.field { margin: .25rem 0; }
.field label { display: inline-block; min-width: 12rem; }
.field .type { color: #6b7385; font-size: .8rem; }
textarea { width: 28rem; max-width: 100%; font-family: ui-monospace, monospace; }
.reply { margin-top: .4rem; border-left: 3px solid #3c9a5f; padding-left: .6rem; }
.reply.error, .error { border-left: 3px solid #c43c3c; padding-left: .6rem; color: #8a1f1f; }
pre { margin: .2rem 0; white-space: pre-wrap; word-break: break-word; }
#events-list { font-family: ui-monospace, monospace; font-size: .85rem; max-height: 20rem; overflow: auto; }
table { border-collapse: collapse; font-size: .85rem; }
.actors h4 { font-size: .85rem; margin: .5rem 0 .2rem; }
.actor-key { display: inline-block; margin-right: .4rem; }
.actor-key.busy { color: #8a5a00; font-weight: 600; }
td, th { border-bottom: 1px solid #e5e8ee; padding: .2rem .5rem; text-align: left; vertical-align: top; }
#events-list time, td.time { color: #6b7385; margin-right: .4rem; }
td.bad, .health.bad, .errors.bad, .lag.bad { color: #8a1f1f; }
.health.ok { color: #3c9a5f; }
form.weights { margin: .3rem 0 .6rem; }
label.weight { margin-right: .6rem; }
label.weight input { width: 4.5rem; }
#dlq-detail { background: #f6f7f9; padding: .4rem; }
`;
