/*
 * The dashboard's overview charts and each connection's event log, from the audit trail
 * (GET /api/ops/connections/{id}/events). dashboard.js announces what it loaded with DOM events
 * (`broker:connections`, `broker:connection`); this script listens, reads the operator key the same
 * way, and draws with BrokerCharts (dashboard-charts.js). It writes only text and SVG.
 */
'use strict';
(function () {
  var KEY_NAME = 'broker.operatorKey';
  var API_BASE = location.pathname.replace(/[^/]*$/, '');
  var HOUR_MS = 3600000;
  var HOURS_SHOWN = 24;
  /** The overview reads the events of at most this many listed connections, a few at a time. */
  var MAX_CONNECTIONS_READ = 100;
  var PARALLEL_READS = 4;
  var STATUSES = ['connected', 'refreshing', 'awaiting_callback', 'reauth_required', 'failed', 'denied', 'expired', 'revoked'];
  var LATENESS_BUCKETS = [
    { key: 'early', label: 'ahead', upToMs: 0 },
    { key: 's1', label: '≤1s', upToMs: 1000 },
    { key: 's5', label: '1–5s', upToMs: 5000 },
    { key: 's30', label: '5–30s', upToMs: 30000 },
    { key: 'm2', label: '30s–2m', upToMs: 120000 },
    { key: 'late', label: '>2m', upToMs: Infinity },
  ];
  var $ = function (id) { return document.getElementById(id); };
  var loaded = new Map();
  var drawing = 0;
  var openId = null;
  var eventsContinuation = null;
  var shownEvents = [];

  function api(path) {
    return fetch(API_BASE + path, { headers: { authorization: 'Bearer ' + sessionStorage.getItem(KEY_NAME) } }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok) return body;
        var error = body && body.error ? body.error : { code: 'HTTP_' + response.status, message: response.statusText };
        throw new Error(error.code + ': ' + error.message);
      });
    });
  }

  function eventsOf(id, continuation) {
    return api('ops/connections/' + encodeURIComponent(id) + '/events?top=1000' + (continuation ? '&continuation=' + encodeURIComponent(continuation) : ''));
  }

  /** Runs `work` over `items`, `parallel` at a time; answers the results in order. */
  function inBatches(items, parallel, work) {
    var results = new Array(items.length);
    var next = 0;
    function lane() {
      if (next >= items.length) return Promise.resolve();
      var index = next++;
      return work(items[index]).then(function (result) { results[index] = result; }, function () { results[index] = null; }).then(lane);
    }
    var lanes = [];
    for (var i = 0; i < parallel; i++) lanes.push(lane());
    return Promise.all(lanes).then(function () { return results; });
  }

  function statusSeries() {
    return STATUSES.map(function (s) { return { key: s, label: s, className: 'fill-status-' + s }; });
  }

  function drawStatusByProvider(connections) {
    var byProvider = {};
    connections.forEach(function (c) {
      byProvider[c.provider] = byProvider[c.provider] || {};
      byProvider[c.provider][c.status] = (byProvider[c.provider][c.status] || 0) + 1;
    });
    window.BrokerCharts.stackedBars($('chart-status-provider'), {
      id: 'status-by-provider',
      title: 'Connections by provider and status',
      horizontal: true,
      categories: Object.keys(byProvider).sort().map(function (p) { return { label: p, values: byProvider[p] }; }),
      series: statusSeries(),
      empty: 'No connections listed.',
    });
  }

  function hourLabel(ms) {
    var d = new Date(ms);
    return String(d.getHours()).padStart(2, '0') + ':00';
  }

  function drawRefreshCharts(events) {
    var nowHour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    var firstHour = nowHour - (HOURS_SHOWN - 1) * HOUR_MS;
    var hours = [];
    for (var h = 0; h < HOURS_SHOWN; h++) hours.push({ label: hourLabel(firstHour + h * HOUR_MS), values: { refreshed: 0, failed: 0 } });
    var lateness = LATENESS_BUCKETS.map(function (b) { return { label: b.label, values: { refreshes: 0 } }; });
    events.forEach(function (e) {
      var hour = Math.floor(Date.parse(e.at) / HOUR_MS) * HOUR_MS;
      var slot = hours[(hour - firstHour) / HOUR_MS];
      if (e.type === 'refreshed') {
        if (slot) slot.values.refreshed += 1;
        var late = e.details && typeof e.details.latenessMs === 'number' ? e.details.latenessMs : null;
        if (late !== null) {
          var bucket = LATENESS_BUCKETS.findIndex(function (b) { return late <= b.upToMs; });
          lateness[bucket].values.refreshes += 1;
        }
      } else if (e.type === 'refresh_failed' && slot) {
        slot.values.failed += 1;
      }
    });
    window.BrokerCharts.stackedBars($('chart-refreshes'), {
      id: 'refreshes-per-hour',
      title: 'Refreshes per hour, last ' + HOURS_SHOWN + ' hours',
      categories: hours,
      series: [
        { key: 'refreshed', label: 'refreshed', className: 'fill-ok' },
        { key: 'failed', label: 'failed', className: 'fill-bad' },
      ],
      empty: 'No refreshes in the last ' + HOURS_SHOWN + ' hours.',
    });
    window.BrokerCharts.stackedBars($('chart-lateness'), {
      id: 'refresh-lateness',
      title: 'Refresh lateness (after the token was due)',
      categories: lateness,
      series: [{ key: 'refreshes', label: 'refreshes', className: 'fill-accent' }],
      empty: 'No refresh recorded its lateness yet.',
    });
  }

  function drawOverview() {
    var connections = Array.from(loaded.values());
    $('overview').hidden = false;
    drawStatusByProvider(connections);
    var run = ++drawing;
    var read = connections.slice(0, MAX_CONNECTIONS_READ);
    $('overview-note').textContent = 'Over the ' + connections.length + ' listed connection(s)' + (connections.length > read.length ? ', refresh charts over the first ' + read.length : '') + '.';
    return inBatches(read, PARALLEL_READS, function (c) { return eventsOf(c.connectionId); }).then(function (pages) {
      if (run !== drawing) return; // a newer list replaced this one
      var events = [];
      pages.forEach(function (page) { if (page) events.push.apply(events, page.items); });
      drawRefreshCharts(events);
      $('overview').setAttribute('data-events', String(events.length));
    });
  }

  function kindOf(type) {
    if (type === 'refresh_failed' || type === 'failed' || type === 'denied' || type === 'expired') return 'bad';
    if (type === 'revoked') return 'end';
    if (type === 'token_reads' || type === 'proxy_calls') return 'use';
    return 'ok';
  }

  function describe(e) {
    var d = e.details || {};
    switch (e.type) {
      case 'created': return 'created for ' + (e.clientId || '?') + ' (' + (d.provider || '') + ')';
      case 'authorized': return 'the user consented';
      case 'exchanged': return 'credentials issued (version ' + d.credentialsVersion + ')';
      case 'refreshed': return 'refreshed to version ' + d.credentialsVersion + (typeof d.latenessMs === 'number' ? ', ' + seconds(d.latenessMs) + (d.latenessMs < 0 ? ' ahead of' : ' after') + ' its due time' : '') + (d.refreshTokenRotated ? ', refresh token rotated' : '');
      case 'refresh_failed': return 'refresh failed: ' + d.errorCode + (d.transient ? ' (transient, retried)' : ' → ' + d.status);
      case 'token_reads': return d.count + ' token read(s) by ' + (e.clientId || '?') + ' in the hour';
      case 'proxy_calls': return d.count + ' proxied call(s) in the hour' + (d.byStatus ? ' (' + Object.keys(d.byStatus).map(function (k) { return k + ': ' + d.byStatus[k]; }).join(', ') + ')' : '');
      case 'reauthorized': return 'reauthorization started (was ' + d.previousStatus + ')';
      case 'revoked': return 'revoked' + (d.errorCode ? ' (provider said ' + d.errorCode + ')' : d.revokedAtProvider ? ' at the provider too' : '');
      default: return e.type + (d.errorCode ? ': ' + d.errorCode : '');
    }
  }

  function seconds(ms) {
    var abs = Math.abs(ms);
    return abs < 1000 ? abs + ' ms' : (abs / 1000).toFixed(abs < 10000 ? 1 : 0) + ' s';
  }

  function renderEvents() {
    var list = $('events');
    list.textContent = '';
    if (shownEvents.length === 0) list.appendChild(Object.assign(document.createElement('li'), { textContent: 'No events recorded.' }));
    shownEvents.forEach(function (e) {
      var item = document.createElement('li');
      item.className = kindOf(e.type) === 'bad' ? 'failed' : '';
      item.setAttribute('data-type', e.type);
      var time = document.createElement('time');
      time.setAttribute('datetime', e.at);
      time.textContent = new Date(e.at).toLocaleString();
      var name = document.createElement('strong');
      name.textContent = e.type;
      item.appendChild(time);
      item.appendChild(name);
      item.appendChild(document.createTextNode(' ' + describe(e)));
      list.appendChild(item);
    });
    window.BrokerCharts.eventTimeline($('event-chart'), shownEvents.map(function (e) { return { at: e.at, type: e.type, label: e.type + ': ' + describe(e), kind: kindOf(e.type) }; }));
    $('events-more').hidden = !eventsContinuation;
  }

  function loadEvents(id, append) {
    return eventsOf(id, append ? eventsContinuation : null).then(function (page) {
      if (openId !== id) return;
      shownEvents = append ? shownEvents.concat(page.items) : page.items;
      eventsContinuation = page.continuation || null;
      renderEvents();
    }).catch(function (error) {
      $('events').textContent = error.message;
    });
  }

  document.addEventListener('broker:connections', function (event) {
    if (!event.detail.append) loaded.clear();
    event.detail.items.forEach(function (c) { loaded.set(c.connectionId, c); });
    drawOverview();
  });
  document.addEventListener('broker:connection', function (event) {
    openId = event.detail.connectionId;
    loadEvents(openId, false);
  });
  $('events-more').addEventListener('click', function () { if (openId) loadEvents(openId, true); });
})();
