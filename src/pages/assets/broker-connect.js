/*
 * The embeddable connect flow for a client app's own web page (GET /api/broker-connect.js). No
 * framework, no inline code, so it runs under a strict CSP such as the broker's own pages'.
 *
 *   BrokerConnect.open(url, options) → Promise<{connectionId, status, error?}>
 *     Opens `url` (an `authorizationUrl` from POST /api/connections, a link of the app's own that
 *     redirects to one, or the broker's /api/connect page) in a popup. The popup ends on the
 *     connection's `returnTo` page, which calls BrokerConnect.complete(): it posts the outcome to the
 *     opener, for the opener's origin only, and closes. Without a `returnTo` the popup ends on the
 *     broker's callback page, which does the same for the broker's allowed return origins. The
 *     opener accepts a message only from that popup and from `options.resultOrigin` (an origin or a
 *     list; default: its own origin, where `returnTo` points; add the broker's for links without one).
 *     A popup the user closes resolves `{connectionId: null, status: 'cancelled'}`. Where popups are
 *     blocked, or on a small or touch-first screen, it navigates this page instead (resolves
 *     `{status: 'redirecting'}` just before) and the `returnTo` page reads the outcome itself.
 *   BrokerConnect.complete() → {connectionId, status, error?} | null
 *     For the `returnTo` page: the outcome from its query string (the broker appends
 *     `connectionId`, `status` and on a denial `error`); inside the popup it also notifies the opener.
 */
'use strict';
(function () {
  var MESSAGE_TYPE = 'broker-connect:result';
  var CLOSED_POLL_MS = 300;
  /** Grace after the popup closed, for the message it posted just before closing to arrive. */
  var CLOSED_GRACE_MS = 250;
  var NARROW_SCREEN = '(max-width: 600px)';

  function prefersRedirect() {
    var narrow = typeof window.matchMedia === 'function' && window.matchMedia(NARROW_SCREEN).matches;
    var mobile = /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent || '');
    return narrow || mobile;
  }

  function popupFeatures(width, height) {
    var left = Math.max(0, Math.round((window.screenX || 0) + ((window.outerWidth || width) - width) / 2));
    var top = Math.max(0, Math.round((window.screenY || 0) + ((window.outerHeight || height) - height) / 2));
    return 'popup=yes,width=' + width + ',height=' + height + ',left=' + left + ',top=' + top;
  }

  function redirect(url) {
    window.location.assign(url);
    return Promise.resolve({ connectionId: null, status: 'redirecting' });
  }

  function outcomeOf(data) {
    var result = { connectionId: typeof data.connectionId === 'string' ? data.connectionId : null, status: String(data.status) };
    if (typeof data.error === 'string' && data.error) result.error = data.error;
    return result;
  }

  function open(url, options) {
    options = options || {};
    var target = new URL(url, window.location.href).href;
    var resultOrigins = [].concat(options.resultOrigin || window.location.origin);
    var mode = options.mode || 'auto';
    if (mode === 'redirect' || (mode === 'auto' && prefersRedirect())) return redirect(target);

    var popup = window.open(target, 'broker-connect', popupFeatures(options.width || 520, options.height || 680));
    // A blocked popup is null (or, in some browsers, closed at once).
    if (!popup || popup.closed) return mode === 'popup' ? Promise.resolve({ connectionId: null, status: 'blocked' }) : redirect(target);
    if (typeof popup.focus === 'function') popup.focus();

    return new Promise(function (resolve) {
      var settled = false;
      var timer;
      function finish(result) {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        window.removeEventListener('message', onMessage);
        resolve(result);
      }
      function onMessage(event) {
        // Only the popup this call opened, only from the origin its returnTo page lives on.
        if (event.source !== popup || resultOrigins.indexOf(event.origin) < 0) return;
        var data = event.data;
        if (!data || data.type !== MESSAGE_TYPE || typeof data.status !== 'string') return;
        finish(outcomeOf(data));
        if (!popup.closed) popup.close();
      }
      window.addEventListener('message', onMessage);
      timer = setInterval(function () {
        if (!popup.closed) return;
        clearInterval(timer);
        setTimeout(function () { finish({ connectionId: null, status: 'cancelled' }); }, CLOSED_GRACE_MS);
      }, CLOSED_POLL_MS);
    });
  }

  function complete() {
    var params = new URLSearchParams(window.location.search);
    var status = params.get('status');
    if (!status) return null;
    var result = outcomeOf({ connectionId: params.get('connectionId'), status: status, error: params.get('error') });
    var opener = window.opener;
    if (opener && opener !== window) {
      // Addressed to this page's own origin: a cross-origin opener never receives it.
      opener.postMessage({ type: MESSAGE_TYPE, connectionId: result.connectionId, status: result.status, error: result.error }, window.location.origin);
      window.close();
    }
    return result;
  }

  window.BrokerConnect = { open: open, complete: complete };
})();
