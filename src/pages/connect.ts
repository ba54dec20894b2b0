/**
 * The newcomer's connect page (GET /api/connect, script at /api/connect.js): enter a client key,
 * pick a configured provider, start a connection whose `returnTo` is this page, go through the
 * provider's consent, come back here (`?connectionId=…&status=…`), watch the status settle and
 * call the provider's API through the broker's proxy. It uses only the public client API.
 */

/** The client key of the sample settings (local.settings.sample.json), offered as a starting value. */
export const SAMPLE_CLIENT_KEY = 'demo-client-key-change-me';

export const CONNECT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>OAuth broker — connect a provider</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="pages.css">
<script src="connect.js" defer></script>
</head><body>
<header><h1>OAuth broker — connect a provider</h1></header>
<main>
<p id="message" class="message" role="status" aria-live="polite"></p>

<section id="key-step" aria-labelledby="key-title">
<h2 id="key-title">1. Client key</h2>
<form id="key-form">
<div class="field"><label for="client-key">Client API key</label>
<input id="client-key" name="clientKey" type="password" autocomplete="off" required value="${SAMPLE_CLIENT_KEY}"></div>
<button type="submit">Continue</button>
</form>
<p class="hint">The sample settings (<code>BROKER_CLIENT_KEYS</code>) define the demo key <code>${SAMPLE_CLIENT_KEY}</code>.
The key stays in this tab's session storage.</p>
</section>

<section id="provider-step" aria-labelledby="provider-title" hidden>
<h2 id="provider-title">2. Provider</h2>
<form id="start-form">
<div class="field"><label for="provider">Provider</label><select id="provider" name="provider" required></select></div>
<div class="field"><label for="end-user">End user id (optional)</label><input id="end-user" name="endUserId"></div>
<div class="field"><button type="submit" id="start">Connect</button></div>
</form>
<p class="hint">You will be sent to the provider to sign in and consent, then back to this page.</p>
</section>

<section id="result-step" aria-labelledby="result-title" hidden>
<h2 id="result-title">3. Connection</h2>
<dl class="facts">
<dt>Connection</dt><dd id="connection-id" class="mono"></dd>
<dt>Status</dt><dd><span id="connection-status" class="status"></span></dd>
<dt>Provider</dt><dd id="connection-provider"></dd>
<dt>Expires</dt><dd id="connection-expires"></dd>
</dl>
<p class="actions"><button type="button" id="call-api" disabled>Call the API (GET /me)</button>
<button type="button" id="start-over" class="secondary">Connect another</button></p>
<pre id="api-result" aria-label="API answer" hidden></pre>
</section>
</main></body></html>`;

export const CONNECT_JS = `'use strict';
(function () {
  var KEY_NAME = 'broker.clientKey';
  var API_BASE = location.pathname.replace(/[^/]*$/, '');
  var SETTLED = ['connected', 'reauth_required', 'denied', 'expired', 'revoked', 'failed'];
  var POLL_INTERVAL_MS = 500;
  var POLL_ATTEMPTS = 60;
  var $ = function (id) { return document.getElementById(id); };

  function say(text, isError) {
    $('message').textContent = text || '';
    $('message').className = 'message' + (isError ? ' error' : '');
  }

  function key() { return sessionStorage.getItem(KEY_NAME); }

  function api(method, path, body) {
    var headers = { authorization: 'Bearer ' + key() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(API_BASE + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        return response.text().then(function (text) {
          var parsed = null;
          try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = text; }
          if (response.ok) return parsed;
          if (response.status === 401) { sessionStorage.removeItem(KEY_NAME); showKeyStep(); }
          var error = parsed && parsed.error ? parsed.error : { code: 'HTTP_' + response.status, message: response.statusText };
          throw new Error(error.code + ': ' + error.message);
        });
      });
  }

  function showKeyStep() {
    $('key-step').hidden = false;
    $('provider-step').hidden = true;
  }

  function loadProviders() {
    return api('GET', 'providers').then(function (answer) {
      var select = $('provider');
      select.textContent = '';
      answer.items.forEach(function (p) {
        var option = document.createElement('option');
        option.value = p.name;
        option.textContent = (p.displayName || p.name) + ' — ' + p.name + ' (' + p.protocol + ')';
        select.appendChild(option);
      });
      $('key-step').hidden = true;
      $('provider-step').hidden = false;
      say(answer.items.length ? '' : 'No provider is configured (BROKER_PROVIDERS or BROKER_PROVIDERS_FILE).', !answer.items.length);
    }).catch(function (error) { say(error.message, true); });
  }

  function returnUrl() { return location.origin + location.pathname; }

  function start(event) {
    event.preventDefault();
    var body = { provider: $('provider').value, returnTo: returnUrl() };
    var endUser = $('end-user').value.trim();
    if (endUser) body.endUserId = endUser;
    $('start').disabled = true;
    say('Starting the connection…');
    api('POST', 'connections', body).then(function (started) {
      say('Sending you to the provider…');
      location.assign(started.authorizationUrl);
    }).catch(function (error) {
      $('start').disabled = false;
      var hint = /RETURN_URL_NOT_ALLOWED/.test(error.message) ? ' Add ' + returnUrl() + ' to BROKER_ALLOWED_RETURN_URLS.' : '';
      say(error.message + hint, true);
    });
  }

  function render(view) {
    $('connection-id').textContent = view.connectionId;
    var badge = $('connection-status');
    badge.textContent = view.status;
    badge.className = 'status status-' + view.status;
    badge.setAttribute('data-status', view.status);
    $('connection-provider').textContent = view.provider + ' (' + view.protocol + ')';
    $('connection-expires').textContent = view.expiresAt ? new Date(view.expiresAt).toLocaleString() : '—';
    $('call-api').disabled = view.status !== 'connected';
    if (view.error) say(view.error.code + ': ' + view.error.message, view.status !== 'connected');
  }

  function poll(id, attempt) {
    return api('GET', 'connections/' + encodeURIComponent(id)).then(function (view) {
      render(view);
      if (SETTLED.indexOf(view.status) < 0 && attempt < POLL_ATTEMPTS) {
        setTimeout(function () { poll(id, attempt + 1); }, POLL_INTERVAL_MS);
      } else if (view.status === 'connected') {
        say('Connected. Try a call through the broker.');
      }
    }).catch(function (error) { say(error.message, true); });
  }

  function callApi() {
    var id = $('connection-id').textContent;
    $('api-result').hidden = false;
    $('api-result').textContent = 'Calling…';
    api('GET', 'connections/' + encodeURIComponent(id) + '/proxy/me').then(function (answer) {
      $('api-result').textContent = typeof answer === 'string' ? answer : JSON.stringify(answer, null, 2);
      $('api-result').setAttribute('data-outcome', 'ok');
    }).catch(function (error) {
      $('api-result').textContent = error.message;
      $('api-result').setAttribute('data-outcome', 'error');
    });
  }

  function returned() {
    var params = new URLSearchParams(location.search);
    var id = params.get('connectionId');
    if (!id) return false;
    $('key-step').hidden = true;
    $('result-step').hidden = false;
    $('connection-id').textContent = id;
    render({ connectionId: id, status: params.get('status') || 'unknown', provider: '', protocol: '', expiresAt: null });
    if (params.get('error')) say('The provider answered: ' + params.get('error'), true);
    if (!key()) { $('key-step').hidden = false; return true; }
    poll(id, 0);
    return true;
  }

  $('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    sessionStorage.setItem(KEY_NAME, $('client-key').value.trim());
    var id = new URLSearchParams(location.search).get('connectionId');
    if (id) { $('key-step').hidden = true; poll(id, 0); } else loadProviders();
  });
  $('start-form').addEventListener('submit', start);
  $('call-api').addEventListener('click', callApi);
  $('start-over').addEventListener('click', function () { location.assign(returnUrl()); });

  if (!returned() && key()) loadProviders();
})();
`;
