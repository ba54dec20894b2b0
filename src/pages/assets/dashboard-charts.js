/*
 * The dashboard's pictures, drawn as SVG by hand (no library, no build step, nothing from a CDN):
 * stacked bar charts and an event timeline. Colours come from classes in pages.css (the pages' CSP
 * allows no inline style); every mark carries its numbers as data-* attributes and a <title>, so a
 * screen reader and a test read what the eye sees. Exposes `window.BrokerCharts`.
 */
'use strict';
(function () {
  var SVG_NS = 'http://www.w3.org/2000/svg';

  function svg(tag, attributes, children) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, String(attributes[name])); });
    (children || []).forEach(function (child) { node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child); });
    return node;
  }

  function titled(node, text) {
    node.appendChild(svg('title', {}, [text]));
    return node;
  }

  function total(values) {
    return Object.keys(values).reduce(function (sum, key) { return sum + values[key]; }, 0);
  }

  function legend(series) {
    var list = document.createElement('ul');
    list.className = 'chart-legend';
    series.forEach(function (s) {
      var item = document.createElement('li');
      var swatch = svg('svg', { width: 12, height: 12, 'aria-hidden': 'true' }, [svg('rect', { width: 12, height: 12, class: s.className })]);
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(' ' + s.label));
      list.appendChild(item);
    });
    return list;
  }

  /**
   * Stacked bars, one per category. `horizontal` puts categories on rows (long labels such as
   * provider names); otherwise on columns (hours, histogram buckets).
   * spec: {title, categories:[{label, values:{seriesKey: n}}], series:[{key, label, className}], horizontal?, empty}
   */
  function stackedBars(target, spec) {
    target.textContent = '';
    var figure = document.createElement('figure');
    figure.className = 'chart';
    figure.setAttribute('data-chart', spec.id);
    var caption = document.createElement('figcaption');
    caption.textContent = spec.title;
    figure.appendChild(caption);
    var max = spec.categories.reduce(function (m, c) { return Math.max(m, total(c.values)); }, 0);
    if (max === 0) {
      var empty = document.createElement('p');
      empty.className = 'hint';
      empty.textContent = spec.empty;
      figure.appendChild(empty);
      target.appendChild(figure);
      return;
    }
    var summary = spec.categories.map(function (c) { return c.label + ': ' + total(c.values); }).join(', ');
    // About the size it is shown at (a third of the page), so its text stays readable.
    var width = 360;
    var labelSpace = spec.horizontal ? 90 : 0;
    var barSpace = spec.horizontal ? 24 : Math.max(6, Math.floor((width - 40) / spec.categories.length));
    var height = spec.horizontal ? spec.categories.length * barSpace + 10 : 170;
    var plotHeight = height - 40;
    var chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': spec.title + ': ' + summary, class: 'chart-svg' });
    spec.categories.forEach(function (category, index) {
      var offset = 0;
      var sum = total(category.values);
      var group = svg('g', { 'data-category': category.label, 'data-total': sum });
      spec.series.forEach(function (s) {
        var value = category.values[s.key] || 0;
        if (value === 0) return;
        var rect;
        if (spec.horizontal) {
          var length = ((width - labelSpace - 30) * value) / max;
          rect = svg('rect', { x: labelSpace + offset, y: index * barSpace + 4, width: length, height: barSpace - 8, class: s.className });
          offset += length;
        } else {
          var size = (plotHeight * value) / max;
          rect = svg('rect', { x: 30 + index * barSpace + 1, y: plotHeight - offset - size + 10, width: Math.max(1, barSpace - 2), height: size, class: s.className });
          offset += size;
        }
        rect.setAttribute('data-series', s.key);
        rect.setAttribute('data-value', String(value));
        group.appendChild(titled(rect, category.label + ' — ' + s.label + ': ' + value));
      });
      if (spec.horizontal) {
        group.appendChild(svg('text', { x: labelSpace - 6, y: index * barSpace + barSpace / 2 + 4, 'text-anchor': 'end', class: 'chart-label' }, [category.label]));
        group.appendChild(svg('text', { x: labelSpace + offset + 6, y: index * barSpace + barSpace / 2 + 4, class: 'chart-value' }, [String(sum)]));
      } else {
        var every = Math.ceil(spec.categories.length / 6);
        if (index % every === 0) {
          group.appendChild(svg('text', { x: 30 + index * barSpace + barSpace / 2, y: height - 12, 'text-anchor': 'middle', class: 'chart-label' }, [category.label]));
        }
      }
      chart.appendChild(group);
    });
    if (!spec.horizontal) {
      chart.appendChild(svg('line', { x1: 28, y1: plotHeight + 10, x2: width, y2: plotHeight + 10, class: 'chart-axis' }));
      chart.appendChild(svg('text', { x: 24, y: 18, 'text-anchor': 'end', class: 'chart-label' }, [String(max)]));
      chart.appendChild(svg('text', { x: 24, y: plotHeight + 10, 'text-anchor': 'end', class: 'chart-label' }, ['0']));
    }
    figure.appendChild(chart);
    figure.appendChild(legend(spec.series.filter(function (s) {
      return spec.categories.some(function (c) { return (c.values[s.key] || 0) > 0; });
    })));
    target.appendChild(figure);
  }

  /**
   * One connection's events on a time axis: a dot per event, coloured by kind, failures marked.
   * events: [{at, type, label, kind}] in time order; kinds map to classes `event-<kind>`.
   */
  function eventTimeline(target, events) {
    target.textContent = '';
    if (events.length === 0) return;
    // Shown across the detail panel: a wide drawing keeps its labels near their CSS size.
    var width = 960;
    var height = 70;
    var first = Date.parse(events[0].at);
    var last = Date.parse(events[events.length - 1].at);
    var span = Math.max(1, last - first);
    var chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img', class: 'chart-svg', 'aria-label': 'Event timeline: ' + events.length + ' events from ' + new Date(first).toLocaleString() + ' to ' + new Date(last).toLocaleString() });
    chart.appendChild(svg('line', { x1: 10, y1: 30, x2: width - 10, y2: 30, class: 'chart-axis' }));
    events.forEach(function (event, index) {
      var x = 10 + ((width - 20) * (Date.parse(event.at) - first)) / span;
      var dot = svg('circle', { cx: x, cy: 30, r: 6, class: 'event-dot event-' + event.kind, 'data-type': event.type, 'data-index': index });
      chart.appendChild(titled(dot, new Date(event.at).toLocaleString() + ' — ' + event.label));
    });
    chart.appendChild(svg('text', { x: 10, y: 60, class: 'chart-label' }, [new Date(first).toLocaleString()]));
    chart.appendChild(svg('text', { x: width - 10, y: 60, 'text-anchor': 'end', class: 'chart-label' }, [new Date(last).toLocaleString()]));
    target.appendChild(chart);
  }

  window.BrokerCharts = { stackedBars: stackedBars, eventTimeline: eventTimeline };
})();
