/** The one stylesheet of the dashboard and the connect page (served at /api/pages.css). */
export const PAGES_CSS = `
:root{color-scheme:light;--fg:#1b1b1b;--muted:#555;--line:#c9c9c9;--accent:#0b5cad;--bad:#a4000f;--bad-bg:#fde8ea;--warn-bg:#fff4d6;--ok:#11672e;--ok-bg:#e5f4ea}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);margin:0;background:#fafafa}
header{background:#fff;border-bottom:1px solid var(--line);padding:.75rem 1.5rem}
header h1{font-size:1.25rem;margin:0}
main{max-width:72rem;margin:0 auto;padding:1rem 1.5rem 3rem}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:1rem 1.25rem;margin:1rem 0}
h2{font-size:1.1rem;margin:.2rem 0 .8rem}
h3{font-size:1rem;margin:1rem 0 .5rem}
label{display:block;font-weight:600;margin-bottom:.2rem}
.field{display:inline-block;margin:0 1rem .75rem 0;vertical-align:bottom}
input,select{font:inherit;padding:.35rem .5rem;border:1px solid #888;border-radius:4px;min-width:14rem;background:#fff}
button{font:inherit;padding:.4rem .9rem;border:1px solid var(--accent);border-radius:4px;background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}
button.danger{background:#fff;color:var(--bad);border-color:var(--bad)}
button:disabled{opacity:.55;cursor:not-allowed}
button:focus-visible,input:focus-visible,select:focus-visible,a:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.hint{color:var(--muted);font-size:.9rem;margin:.25rem 0 .75rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f1f1f1}
tr.attention td{background:var(--bad-bg)}
td.id button{background:none;border:none;color:var(--accent);padding:0;text-decoration:underline;font-family:ui-monospace,monospace;font-size:.85rem}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,monospace;font-size:.85rem}
pre{background:#f4f4f4;border:1px solid var(--line);padding:.75rem;overflow:auto;max-height:24rem}
.status{display:inline-block;padding:.05rem .45rem;border-radius:3px;font-weight:600;border:1px solid transparent}
.status-connected{color:var(--ok);background:var(--ok-bg);border-color:#8cc7a0}
.status-reauth_required,.status-failed{color:var(--bad);background:var(--bad-bg);border-color:#e2a0a8}
.status-awaiting_callback,.status-refreshing{background:var(--warn-bg);border-color:#e3c46f}
.status-revoked,.status-denied,.status-expired{color:#444;background:#eee;border-color:#bbb}
.error-text{color:var(--bad)}
.message{min-height:1.5rem;margin:.5rem 0}
.message.error{color:var(--bad);font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0;word-break:break-all}
ol.timeline{list-style:none;padding:0;margin:0;border-left:3px solid var(--line)}
ol.timeline li{padding:.3rem .75rem;margin-left:.25rem}
ol.timeline li.failed{background:var(--bad-bg)}
ol.timeline time{color:var(--muted);margin-right:.5rem}
.actions button{margin-right:.5rem}
[hidden]{display:none !important}
`;
