/*
 * The dashboard's "Failed deliveries" panel: dead-lettered webhook deliveries from
 * GET /api/ops/webhooks/failed, each with a Redeliver button (POST …/{deliveryId}/redeliver). Its own
 * script beside dashboard.js, sharing only the operator key the tab keeps in sessionStorage; like
 * it, no framework and text only (no innerHTML).
 */
'use strict';
(function () {
  var KEY_NAME = 'broker.operatorKey';
  var API_BASE = location.pathname.replace(/[^/]*$/, '');
  var $ = function (id) { return document.getElementById(id); };

  function cell(text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function say(text, isError) {
    var message = $('failed-webhooks-message');
    message.textContent = text || '';
    message.className = 'message' + (isError ? ' error' : '');
  }

  function api(method, path) {
    return fetch(API_BASE + path, { method: method, headers: { authorization: 'Bearer ' + sessionStorage.getItem(KEY_NAME) } }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok) return body;
        if (response.status === 401 || response.status === 403) $('failed-webhooks').hidden = true;
        var error = body && body.error ? body.error : { code: 'HTTP_' + response.status, message: response.statusText };
        throw new Error(error.code + ': ' + error.message);
      });
    });
  }

  function row(failed) {
    var tr = document.createElement('tr');
    tr.setAttribute('data-delivery-id', failed.deliveryId);
    [new Date(failed.failedAt).toLocaleString(), failed.type, failed.connectionId, failed.clientId, String(failed.attempts)].forEach(function (text) {
      tr.appendChild(cell(text));
    });
    tr.appendChild(cell(failed.lastError, 'error-text'));
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Redeliver';
    button.setAttribute('aria-label', 'Redeliver ' + failed.type + ' of ' + failed.connectionId);
    button.addEventListener('click', function () { redeliver(failed); });
    var actions = document.createElement('td');
    actions.appendChild(button);
    tr.appendChild(actions);
    return tr;
  }

  function load() {
    if (!sessionStorage.getItem(KEY_NAME)) return Promise.resolve();
    return api('GET', 'ops/webhooks/failed').then(function (page) {
      var rows = $('failed-webhook-rows');
      rows.textContent = '';
      page.items.forEach(function (failed) { rows.appendChild(row(failed)); });
      if (page.items.length === 0) {
        var empty = document.createElement('tr');
        var td = cell('No failed deliveries.');
        td.colSpan = 7;
        empty.appendChild(td);
        rows.appendChild(empty);
      }
      $('failed-webhooks').hidden = false;
    }).catch(function (error) { say(error.message, true); });
  }

  function redeliver(failed) {
    say('Redelivering ' + failed.type + ' of ' + failed.connectionId + '…');
    api('POST', 'ops/webhooks/failed/' + encodeURIComponent(failed.deliveryId) + '/redeliver').then(function (result) {
      return load().then(function () { say('Redelivered ' + failed.type + ' of ' + failed.connectionId + ': the receiver answered ' + result.status + '.'); });
    }).catch(function (error) {
      return load().then(function () { say('Redelivery failed: ' + error.message, true); });
    });
  }

  // dashboard.js stores the key in its own submit handler, which runs first (registered first).
  $('login-form').addEventListener('submit', function () { load(); });
  $('failed-webhooks-reload').addEventListener('click', function () { say(''); load(); });
  $('sign-out').addEventListener('click', function () { $('failed-webhooks').hidden = true; });
  load();
})();
