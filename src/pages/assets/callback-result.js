/*
 * The callback result page's script (GET /api/callback-result.js). When the page is in a popup that
 * broker-connect.js opened for a connection without `returnTo`, it posts the outcome to the opener
 * and closes. The message is addressed to each origin the page names (the broker's own and the
 * allowed return origins), so a window of any other origin never receives it.
 */
'use strict';
(function () {
  var result = document.getElementById('result');
  var opener = window.opener;
  if (!result || !opener || opener === window) return;
  var message = {
    type: 'broker-connect:result',
    connectionId: result.getAttribute('data-connection-id'),
    status: result.getAttribute('data-status'),
  };
  (result.getAttribute('data-notify-origins') || '').split(' ').filter(Boolean).forEach(function (origin) {
    opener.postMessage(message, origin);
  });
  window.close();
})();
