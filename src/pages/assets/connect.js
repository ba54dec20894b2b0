/*
 * The newcomer's connect page (GET /api/connect): enter a client key, pick a configured provider,
 * start a connection whose `returnTo` is this page, go through the provider's consent, come back here
 * (`?connectionId=…&status=…`), watch the status settle and call the provider's API through the
 * broker's proxy. It uses only the public client API, and writes only text into the page.
 */
'use strict';
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
          try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
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

  /**
   * Opened by broker-connect.js with `?returnTo=` (the client app's own landing page), the
   * connection returns there instead: that page tells its opener. The broker checks it against
   * BROKER_ALLOWED_RETURN_URLS like any returnTo.
   */
  function requestedReturnUrl() { return new URLSearchParams(location.search).get('returnTo') || returnUrl(); }

  function start(event) {
    event.preventDefault();
    var body = { provider: $('provider').value, returnTo: requestedReturnUrl() };
    var endUser = $('end-user').value.trim();
    if (endUser) body.endUserId = endUser;
    $('start').disabled = true;
    say('Starting the connection…');
    api('POST', 'connections', body).then(function (started) {
      say('Sending you to the provider…');
      location.assign(started.authorizationUrl);
    }).catch(function (error) {
      $('start').disabled = false;
      var hint = /RETURN_URL_NOT_ALLOWED/.test(error.message) ? ' Add ' + requestedReturnUrl() + ' to BROKER_ALLOWED_RETURN_URLS.' : '';
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
