/*
 * The operator dashboard (GET /api/dashboard): asks for the operator key, keeps it in sessionStorage
 * for the tab, and calls the operator JSON routes with `Authorization: Bearer`. No framework and no
 * build step; it only ever writes text into the page (no innerHTML), so connection data cannot
 * inject markup.
 */
'use strict';
(function () {
  var KEY_NAME = 'broker.operatorKey';
  // The API lives next to this page (normally /api/), whatever the host's route prefix is.
  var API_BASE = location.pathname.replace(/[^/]*$/, '');
  var $ = function (id) { return document.getElementById(id); };
  var continuation = null;
  var current = null;

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      if (name === 'text') node.textContent = props[name];
      else if (name === 'className') node.className = props[name];
      else node.setAttribute(name, props[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child); });
    return node;
  }

  function say(text, isError) {
    var message = $('message');
    message.textContent = text || '';
    message.className = 'message' + (isError ? ' error' : '');
  }

  function key() { return sessionStorage.getItem(KEY_NAME); }

  function api(method, path) {
    return fetch(API_BASE + path, { method: method, headers: { authorization: 'Bearer ' + key() } }).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok) return body;
        if (response.status === 401 || response.status === 403) signOut();
        var error = body && body.error ? body.error : { code: 'HTTP_' + response.status, message: response.statusText };
        throw new Error(error.code + ': ' + error.message);
      });
    });
  }

  function when(iso) { return iso ? new Date(iso).toLocaleString() : '—'; }

  function needsAttention(c) { return c.status === 'reauth_required' || c.status === 'failed' || Boolean(c.error); }

  function statusBadge(status, attention) {
    return el('span', { className: 'status status-' + status, 'data-status': status, text: (attention ? '⚠ ' : '') + status });
  }

  /** A connection whose provider is being retired (`providerDeprecation`): when, and where to move it. */
  function sunsetBadge(deprecation) {
    var day = deprecation.deprecatedAfter;
    var successor = deprecation.successor;
    var parts = ['deprecated after ', el('time', { datetime: day, text: day })];
    if (successor) parts.push(el('span', { 'aria-hidden': 'true', text: ' →' }), ' successor ', el('code', { text: successor }));
    return el('span', {
      className: 'sunset',
      title: 'The provider stops serving this connection after ' + day + ' (UTC)' + (successor ? '; reauthorize it onto ' + successor : '') + '.',
    }, parts);
  }

  function providerCell(c, text) {
    return c.providerDeprecation ? [text, ' ', sunsetBadge(c.providerDeprecation)] : [text];
  }

  function row(c) {
    var attention = needsAttention(c);
    var open = el('button', { type: 'button', 'aria-label': 'Open connection ' + c.connectionId, text: c.connectionId });
    open.addEventListener('click', function () { showDetail({ id: c.connectionId, clientId: c.clientId }); });
    return el('tr', { className: attention ? 'attention' : '', 'data-connection-id': c.connectionId }, [
      el('td', { className: 'id' }, [open]),
      el('td', {}, [statusBadge(c.status, attention)]),
      el('td', { className: 'provider' }, providerCell(c, c.provider)),
      el('td', { text: c.clientId }),
      el('td', { text: c.endUserId || '—' }),
      el('td', { text: when(c.expiresAt) }),
      el('td', { text: when(c.lastRefreshedAt) }),
      el('td', { className: c.error ? 'error-text' : '', text: c.error ? c.error.code + ': ' + c.error.message : '' }),
    ]);
  }

  function listQuery() {
    var params = new URLSearchParams();
    new FormData($('filters')).forEach(function (value, name) { if (value) params.set(name, value); });
    if (continuation) params.set('continuation', continuation);
    return params.toString();
  }

  function loadConnections(append) {
    if (!append) continuation = null;
    var query = listQuery();
    return api('GET', 'ops/connections' + (query ? '?' + query : '')).then(function (page) {
      var rows = $('connection-rows');
      if (!append) rows.textContent = '';
      page.items.forEach(function (c) { rows.appendChild(row(c)); });
      if (!append && page.items.length === 0) rows.appendChild(el('tr', {}, [el('td', { colspan: '8', text: 'No connections match.' })]));
      continuation = page.continuation || null;
      // The overview charts (dashboard-insights.js) draw from what the table lists.
      document.dispatchEvent(new CustomEvent('broker:connections', { detail: { items: page.items, append: Boolean(append) } }));
      $('more').hidden = !continuation;
      $('login').hidden = true;
      $('connections').hidden = false;
      say(rows.children.length + ' connection(s) shown.');
    }).catch(function (error) { say(error.message, true); });
  }

  function facts(target, pairs) {
    target.textContent = '';
    pairs.forEach(function (pair) {
      target.appendChild(el('dt', { text: pair[0] }));
      var value = pair[1];
      target.appendChild(el('dd', {}, [value instanceof Node ? value : String(value === null || value === undefined || value === '' ? '—' : value)]));
    });
  }

  function describeEvent(event) {
    var name = event.FunctionName || event.Name || '';
    var detail = '';
    if (event.FailureDetails) detail = event.FailureDetails.ErrorMessage || JSON.stringify(event.FailureDetails);
    else if (event.Reason) detail = event.Reason;
    else if (event.FireAt) detail = 'fires at ' + when(event.FireAt);
    else if (event.Result !== undefined && event.Result !== null) detail = JSON.stringify(event.Result);
    if (detail.length > 300) detail = detail.slice(0, 300) + '…';
    return [event.EventType + (name ? ' ' + name : ''), detail];
  }

  function timeline(history) {
    var list = $('timeline');
    list.textContent = '';
    if (!history || history.length === 0) { list.appendChild(el('li', { text: 'No history.' })); return; }
    history.forEach(function (event) {
      var parts = describeEvent(event);
      var failed = /Failed|Terminated/.test(String(event.EventType));
      list.appendChild(el('li', { className: failed ? 'failed' : '' }, [
        el('time', { datetime: event.Timestamp || '', text: when(event.Timestamp) }),
        el('strong', { text: parts[0] }),
        parts[1] ? el('span', { className: 'mono', text: ' ' + parts[1] }) : '',
      ]));
    });
  }

  /** Connection ids are unique per client only, so every per-connection call names the client. */
  function connectionPath(ref, suffix) {
    return 'ops/connections/' + encodeURIComponent(ref.id) + suffix + '?clientId=' + encodeURIComponent(ref.clientId);
  }

  function showDetail(ref) {
    return api('GET', connectionPath(ref, '')).then(function (view) {
      var c = view.connection;
      var o = view.orchestration;
      current = { id: c.connectionId, clientId: c.clientId };
      $('detail-title').textContent = 'Connection ' + c.connectionId;
      facts($('detail-facts'), [
        ['Status', statusBadge(c.status, needsAttention(c))], ['Provider', el('span', { className: 'provider' }, providerCell(c, c.provider + ' (' + c.protocol + ')'))], ['Client', c.clientId],
        ['End user', c.endUserId], ['Scopes', (c.scopes || []).join(' ')], ['Created', when(c.createdAt)], ['Updated', when(c.updatedAt)],
        ['Expires', when(c.expiresAt)], ['Last refresh', when(c.lastRefreshedAt)],
        ['Error', c.error ? el('span', { className: 'error-text', text: c.error.code + ': ' + c.error.message }) : ''],
      ]);
      facts($('orchestration-facts'), o ? [
        ['Runtime status', o.runtimeStatus], ['Custom status', o.customStatus ? JSON.stringify(o.customStatus) : ''],
        ['Created', when(o.createdTime)], ['Last updated', when(o.lastUpdatedTime)],
      ] : [['Runtime status', 'no orchestration (purged or never started)']]);
      timeline(o ? o.history : []);
      document.dispatchEvent(new CustomEvent('broker:connection', { detail: { connectionId: c.connectionId } }));
      $('detail').hidden = false;
      $('detail').focus();
    }).catch(function (error) { say(error.message, true); });
  }

  function act(label, method, path, confirmText) {
    if (!current) return;
    if (confirmText && !window.confirm(confirmText)) return;
    var ref = current;
    var id = ref.id;
    say(label + ' ' + id + '…');
    api(method, connectionPath(ref, path)).then(function () {
      return Promise.all([showDetail(ref), loadConnections(false)]).then(function () { say(label + ' ' + id + ': done.'); });
    }).catch(function (error) { say(label + ' failed: ' + error.message, true); });
  }

  function signOut() {
    sessionStorage.removeItem(KEY_NAME);
    $('overview').hidden = true;
    $('connections').hidden = true;
    $('detail').hidden = true;
    $('login').hidden = false;
  }

  $('login-form').addEventListener('submit', function (event) {
    event.preventDefault();
    sessionStorage.setItem(KEY_NAME, $('operator-key').value.trim());
    $('operator-key').value = '';
    loadConnections(false);
  });
  $('filters').addEventListener('submit', function (event) { event.preventDefault(); loadConnections(false); });
  $('more').addEventListener('click', function () { loadConnections(true); });
  $('sign-out').addEventListener('click', function () { signOut(); say('Signed out.'); });
  $('action-refresh').addEventListener('click', function () { act('Refresh', 'POST', '/refresh'); });
  $('action-revoke').addEventListener('click', function () { act('Revoke', 'DELETE', '', 'Revoke this connection at the provider and erase its credentials?'); });
  $('action-terminate').addEventListener('click', function () { act('Terminate', 'POST', '/terminate', 'Stop this connection\'s orchestration?'); });
  $('action-close').addEventListener('click', function () { $('detail').hidden = true; current = null; });

  if (key()) loadConnections(false);
})();
