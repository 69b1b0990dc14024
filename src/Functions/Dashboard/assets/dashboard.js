// The gateway's admin dashboard. Served by the gateway itself under a Content-Security-Policy that allows this file and
// nothing inline. Every call sends the session cookie (HttpOnly: this script never sees it) and the dashboard header the
// gateway demands with it; the admin key is sent once, to sign in, and is not kept anywhere. Data from the gateway (team,
// key, tag and model names come from clients) is only ever put into the page as text.
(() => {
  'use strict';

  const HEADERS = { 'x-gateway-dashboard': '1', accept: 'application/json' };
  const SVG = 'http://www.w3.org/2000/svg';
  const DAY = 86400000;
  const HOUR = 3600000;
  const MAX_BUDGETS = 12;
  // GET /gateway/savings reads raw usage records: at most this many days at a time (Gateway:Savings:MaxRangeDays' default)
  const SAVINGS_MAX_DAYS = 31;

  class SignedOut extends Error {}

  const $ = id => document.getElementById(id);

  // ---- calls -----------------------------------------------------------------------------------------------------

  async function call(path, init = {}) {
    return fetch(path, { credentials: 'same-origin', cache: 'no-store', ...init, headers: { ...HEADERS, ...(init.headers || {}) } });
  }

  async function readJson(response) {
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (response.status === 401) throw new SignedOut();
    if (!response.ok) throw new Error((body && body.error && body.error.message) || `HTTP ${response.status}`);
    return body;
  }

  const api = async (path, init) => readJson(await call(path, init));

  const report = params => api(`/gateway/reports/usage?${new URLSearchParams(params)}`);

  /** The analytics snapshot of one complete UTC day (yyyy-MM-dd): trends, forecasts, budgets, anomalies. */
  const analyticsOf = date => api(`/gateway/analytics?${new URLSearchParams({ date })}`);

  /** The savings recommendations over a window of at most SAVINGS_MAX_DAYS days. */
  const savingsOf = win => api(`/gateway/savings?${new URLSearchParams({ from: win.fromText, to: win.toText })}`);

  // ---- formatting ------------------------------------------------------------------------------------------------

  const usd2 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const usd4 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });
  const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const usd = v => (Math.abs(v) > 0 && Math.abs(v) < 1 ? usd4 : usd2).format(v);
  const int = v => count.format(v);
  const pct = v => `${(v * 100).toFixed(v > 0 && v < 0.001 ? 3 : 1)} %`;
  const ratio = (a, b) => (b > 0 ? a / b : 0);
  const isoDay = t => new Date(t).toISOString().slice(0, 10);
  const isoTime = t => `${new Date(t).toISOString().slice(0, 19)}Z`;
  const shortDay = t => new Date(t).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const monthName = t => new Date(t).toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  const num = v => (v === null || v === undefined ? null : Number(v));
  /** A change in percent (the analytics engine's change_pct), signed: "+12.5 %", "−4.0 %". */
  const signedPct = v => `${v > 0 ? '+' : v < 0 ? '\u2212' : '±'}${Math.abs(v).toFixed(1)} %`;
  const words = v => String(v).replace(/_/g, ' ');

  // ---- DOM helpers: text only, never markup ----------------------------------------------------------------------

  function build(ns, tag, attrs, children) {
    const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const el = (tag, attrs, ...children) => build(null, tag, attrs, children);
  const svg = (tag, attrs, ...children) => build(SVG, tag, attrs, children);

  function fill(host, ...children) {
    host.replaceChildren(...children.filter(c => c !== null && c !== undefined && c !== false));
  }

  function kpis(host, items) {
    fill(host, ...items.map(([label, value, key]) => el('div', { 'data-kpi': key }, el('dt', {}, label), el('dd', {}, value))));
  }

  /**
   * A table with a caption and column headers. Cells are text or nodes built here; each row's data-key is its first cell,
   * or keys[i] when given (what tests find rows by). foot: an optional tfoot row of cells, [{ text, span, num, header }].
   */
  function table(name, caption, columns, rows, { keys = null, foot = null } = {}) {
    return el('table', { 'data-table': name },
      el('caption', {}, caption),
      el('thead', {}, el('tr', {}, ...columns.map(c => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      el('tbody', {}, ...rows.map((row, r) => el('tr', { 'data-key': keys ? keys[r] : row[0] }, ...row.map((cell, i) => el('td', { class: columns[i].num ? 'num' : null }, cell))))),
      foot ? el('tfoot', {}, el('tr', {}, ...foot.map(c => el(c.header ? 'th' : 'td', { scope: c.header ? 'row' : null, colspan: c.span > 1 ? c.span : null, class: c.num ? 'num' : null }, c.text)))) : null);
  }

  /** A data table under a disclosure: the text alternative of a chart, and what tests read. */
  function dataTable(name, caption, columns, rows, open = false) {
    return el('details', { open }, el('summary', {}, `Data: ${caption}`), table(name, caption, columns, rows));
  }

  /** A definition list of figures: items are [label, value, key, detail?] (detail: a smaller second line). */
  function figures(items, attrs = {}) {
    return el('dl', { class: 'kpis', ...attrs }, ...items.map(([label, value, key, detail]) =>
      el('div', { 'data-kpi': key }, el('dt', {}, label), el('dd', {}, value, detail ? el('span', { class: 'detail' }, detail) : null))));
  }

  function note(text, cls = 'note') {
    return el('p', { class: cls }, text);
  }

  // ---- charts: hand-written SVG ----------------------------------------------------------------------------------

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const step = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= v) return m * step;
    return 10 * step;
  }

  /**
   * A chart over time: series as lines or bars against one axis, optional dashed lines (limit, forecast) and shaded
   * bands (a forecast's interval). times: bucket starts (ms); series: [{ name, values }]; lines: [{ name, cls, points:
   * [[t, v]] }]; bands: [{ name, cls, points: [[t, low, high]] }]. Values below zero (a budget overrun) extend the axis down.
   */
  function timeChart({ title, name, times, series, format, kind = 'line', lines = [], bands = [], span, wide = false, integer = false }) {
    const W = wide ? 1200 : 720, H = wide ? 260 : 230, L = 78, R = 14, T = 12, B = 30;
    const start = span ? span[0] : times[0];
    const end = span ? span[1] : times[times.length - 1];
    const values = series.flatMap(s => s.values).concat(lines.flatMap(l => l.points.map(p => p[1])), bands.flatMap(b => b.points.flatMap(p => [p[1], p[2]])));
    const highest = Math.max(0, ...values);
    const lowest = Math.min(0, ...values);
    // counts get whole-number gridlines (four steps of at least one)
    let max = integer ? Math.max(4, Math.ceil(niceMax(highest) / 4) * 4) : niceMax(highest);
    let min = 0;
    let grid = [0, 1, 2, 3, 4].map(k => (max * k) / 4);
    if (lowest < 0) {
      const step = niceMax((highest - lowest) / 4);
      max = Math.max(step, Math.ceil(highest / step) * step);
      min = -Math.ceil(-lowest / step) * step;
      grid = [];
      for (let k = 0; min + k * step <= max + step / 2; k++) grid.push(min + k * step);
    }
    const band = (W - L - R) / Math.max(1, times.length);
    const x = kind === 'bars'
      ? t => L + band * (times.indexOf(t) + 0.5)
      : t => L + (end > start ? (t - start) / (end - start) : 0.5) * (W - L - R);
    const y = v => T + (H - T - B) * ((max - Math.min(max, Math.max(min, v))) / (max - min));
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': title, 'data-chart': name, 'data-points': times.length });
    root.append(svg('title', {}, title));
    const axis = svg('g', { class: 'axis grid', 'aria-hidden': 'true' });
    for (const v of grid) {
      axis.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v === 0 && min < 0 ? 'zero' : null }), svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
    }
    const ticks = Math.min(6, times.length);
    for (let k = 0; k < ticks; k++) {
      const t = kind === 'bars' ? times[Math.round((k * (times.length - 1)) / Math.max(1, ticks - 1))] : start + ((end - start) * k) / Math.max(1, ticks - 1);
      axis.append(svg('text', { x: x(t), y: H - 10, 'text-anchor': 'middle' }, shortDay(t)));
    }
    root.append(axis);
    // bands under the series and lines
    for (const b of bands) {
      const upper = b.points.map(([t, , high], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(high).toFixed(1)}`);
      const lower = b.points.slice().reverse().map(([t, low]) => `L${x(t).toFixed(1)},${y(low).toFixed(1)}`);
      root.append(svg('path', { d: `${upper.join(' ')} ${lower.join(' ')} Z`, class: `band-${b.cls}`, 'data-series': b.name }));
    }
    series.forEach((s, n) => {
      if (kind === 'bars') {
        const group = svg('g', { class: `fill-${n}`, 'data-series': s.name });
        s.values.forEach((v, i) => {
          if (v > 0) {
            group.append(svg('rect', { x: x(times[i]) - Math.max(1, band * 0.8) / 2, y: y(v), width: Math.max(1, band * 0.8), height: y(0) - y(v), 'data-time': isoDay(times[i]), 'data-value': v },
              svg('title', {}, `${isoDay(times[i])}: ${format(v)}`)));
          }
        });
        root.append(group);
      } else {
        const d = s.values.map((v, i) => `${i ? 'L' : 'M'}${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
        root.append(svg('path', { d, class: `series-${n}`, 'data-series': s.name }));
        // a short series is also drawn as points, so a single day shows
        if (times.length <= 62) {
          const dots = svg('g', { class: `fill-${n}` });
          s.values.forEach((v, i) => dots.append(svg('circle', { cx: x(times[i]).toFixed(1), cy: y(v).toFixed(1), r: 3 }, svg('title', {}, `${isoDay(times[i])}: ${format(v)}`))));
          root.append(dots);
        }
      }
    });
    for (const line of lines) {
      const d = line.points.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      root.append(svg('path', { d, class: `series-${line.cls}`, 'data-series': line.name }));
    }
    const legend = el('ul', { class: 'legend' },
      ...series.map((s, n) => el('li', {}, el('span', { class: `swatch-${n}`, 'aria-hidden': 'true' }), s.name)),
      ...lines.map(l => el('li', {}, el('span', { class: `swatch-${l.cls}`, 'aria-hidden': 'true' }), l.name)),
      ...bands.map(b => el('li', {}, el('span', { class: `swatch-band-${b.cls}`, 'aria-hidden': 'true' }), b.name)));
    return el('div', {}, root, legend);
  }

  /** Horizontal bars, largest first. items: [{ label, value }]. */
  function barChart({ title, name, items, format }) {
    const W = 720, row = 24, L = 210, R = 110, T = 6;
    const H = T * 2 + row * Math.max(1, items.length);
    const max = Math.max(0, ...items.map(i => i.value)) || 1;
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': title, 'data-chart': name });
    root.append(svg('title', {}, title));
    items.forEach((item, i) => {
      const yTop = T + i * row;
      const label = item.label.length > 30 ? `${item.label.slice(0, 29)}…` : item.label;
      const width = Math.max(item.value > 0 ? 1 : 0, ((W - L - R) * item.value) / max);
      root.append(svg('g', { 'data-label': item.label, 'data-value': item.value },
        svg('title', {}, `${item.label}: ${format(item.value)}`),
        svg('text', { x: L - 8, y: yTop + row / 2 + 4, 'text-anchor': 'end', class: 'bar-label' }, label),
        svg('rect', { x: L, y: yTop + 4, width, height: row - 8, class: 'fill-0' }),
        svg('text', { x: L + width + 6, y: yTop + row / 2 + 4, class: 'bar-value' }, format(item.value))));
    });
    return root;
  }

  // ---- the range and the daily series ----------------------------------------------------------------------------

  function rangeOf(days) {
    const now = Date.now();
    const to = Math.floor(now / DAY) * DAY + DAY;
    const from = to - days * DAY;
    return { from, to, days, fromText: isoTime(from), toText: isoTime(to) };
  }

  /** One point per day of the range from a report with interval=day (days without traffic are zero). */
  function dailySeries(reportJson, range) {
    const byDay = new Map();
    for (const group of reportJson.groups || []) {
      for (const point of group.series || []) byDay.set(Date.parse(point.start), point);
    }
    const times = [];
    const points = [];
    for (let t = range.from; t < range.to; t += DAY) {
      times.push(t);
      points.push(byDay.get(t) || null);
    }
    const pick = f => points.map(p => (p ? Number(f(p)) || 0 : 0));
    return { times, points, pick };
  }

  // ---- panels ----------------------------------------------------------------------------------------------------

  function renderSpend(daily, range) {
    const totals = daily.totals;
    kpis($('spend-kpis'), [
      ['Spend', usd(Number(totals.cost_usd)), 'spend'],
      ['Requests', int(totals.requests), 'requests'],
      ['Error rate', pct(ratio(totals.errors, totals.requests)), 'error-rate'],
      ['Tokens', int(totals.total_tokens), 'tokens'],
      ['Average latency', `${int(totals.avg_latency_ms)} ms`, 'latency'],
    ]);
    const s = dailySeries(daily, range);
    const cost = s.pick(p => p.cost_usd);
    fill($('spend-chart'),
      timeChart({ title: `Spend per day, ${isoDay(range.from)} to ${isoDay(range.to - DAY)}: ${usd(Number(totals.cost_usd))} in all`, name: 'spend', times: s.times, series: [{ name: 'USD per day', values: cost }], format: usd, wide: true }),
      dataTable('spend', 'spend per day (UTC)', [{ label: 'Day' }, { label: 'Requests', num: true }, { label: 'Spend', num: true }],
        s.times.map((t, i) => [isoDay(t), int(s.points[i] ? s.points[i].requests : 0), usd(cost[i])])));
  }

  function renderBreakdown(grouped, dimension) {
    const groups = (grouped.groups || []).slice().sort((a, b) => Number(b.cost_usd) - Number(a.cost_usd));
    const total = Number(grouped.totals.cost_usd);
    if (groups.length === 0) {
      fill($('breakdown-chart'), note(`No spend by ${dimension} in this range.`));
      return;
    }
    fill($('breakdown-chart'),
      barChart({ title: `Spend by ${dimension}, top ${Math.min(10, groups.length)} of ${groups.length}`, name: `breakdown-${dimension}`, items: groups.slice(0, 10).map(g => ({ label: g.value, value: Number(g.cost_usd) })), format: usd }),
      dataTable('breakdown', `spend by ${dimension}`, [{ label: dimension }, { label: 'Requests', num: true }, { label: 'Spend', num: true }, { label: 'Share', num: true }],
        groups.slice(0, 50).map(g => [g.value, int(g.requests), usd(Number(g.cost_usd)), pct(ratio(Number(g.cost_usd), total))])),
      groups.length > 50 ? note(`The table shows the first 50 of ${groups.length}.`) : null);
  }

  /** The report dimension and value a budget's scope is counted under. */
  function scopeDimension(scope) {
    if (scope === 'global') return { group_by: 'all' };
    const colon = scope.indexOf(':');
    const kind = scope.slice(0, colon);
    return ['key', 'user', 'team', 'tag'].includes(kind) ? { group_by: kind, value: scope.slice(colon + 1) } : null;
  }

  /**
   * budgets: the list's promise (asked for first: each budget then asks for its burn-down); analytics: the promise of the
   * analytics snapshot (its budgets[] give the forecasts), null when it could not be read.
   */
  async function renderBudgets(range, budgets, analytics) {
    const list = (await budgets).data || [];
    if (list.length === 0) {
      fill($('budgets'), note('No budgets are set. Set one with PUT /gateway/budgets/{scope}.'));
      return;
    }
    const shown = list.slice(0, MAX_BUDGETS);
    const blocks = await Promise.all(shown.map(b => budgetBlock(b, range, analytics)));
    fill($('budgets'), ...blocks, list.length > MAX_BUDGETS ? note(`Showing ${MAX_BUDGETS} of ${list.length} budgets.`) : null);
  }

  async function budgetBlock(budget, range, analyticsAnswer) {
    const limit = Number(budget.limit_usd);
    const spent = Number(budget.spent_usd);
    const start = Math.max(Date.parse(budget.period_start), range.to - 365 * DAY);
    const periodEnd = Date.parse(budget.period_end);
    const end = Number.isFinite(periodEnd) && periodEnd < range.to + 400 * DAY ? periodEnd : range.to;
    const hourly = end - start <= 2 * DAY;
    const step = hourly ? HOUR : DAY;
    const from = Math.floor(start / HOUR) * HOUR;
    const now = Date.now();
    const dimension = scopeDimension(budget.scope);
    const children = [
      el('h3', {}, budget.scope, budget.stopped ? el('span', { class: 'stopped' }, ' (stopped)') : null),
      el('p', { 'data-budget': budget.scope },
        `${usd(spent)} of ${usd(limit)} spent (${pct(ratio(spent, limit))}), ${usd(Number(budget.reserved_usd))} reserved, ${usd(Number(budget.remaining_usd))} left; `,
        Number.isFinite(periodEnd) && periodEnd < now + 3650 * DAY ? `${budget.period || 'period'} ends ${isoTime(periodEnd)}.` : 'no period end (lifetime).'),
    ];
    if (dimension && from < now) {
      const to = Math.min(Math.ceil(now / step) * step, Math.ceil(end / HOUR) * HOUR);
      const series = await report({ from: isoTime(from), to: isoTime(to), interval: hourly ? 'hour' : 'day', ...dimension });
      const byStart = new Map();
      for (const g of series.groups || []) for (const p of g.series || []) byStart.set(Date.parse(p.start), Number(p.cost_usd));
      const times = [];
      const remaining = [];
      let cumulative = 0;
      for (let t = Math.floor(from / step) * step; t < to; t += step) {
        cumulative += byStart.get(t) || 0;
        times.push(t);
        remaining.push(limit - cumulative);
      }
      const analytics = await analyticsAnswer;
      const forecast = budgetForecast(analytics, budget);
      const chartEnd = forecast && forecast.horizon > end ? forecast.horizon : end;
      const lines = [{ name: 'Limit', cls: 'limit', points: [[times[0], limit], [chartEnd, limit]] }];
      const bands = [];
      if (forecast) {
        // from what was left at the end of the snapshot's day to what is projected to be left at the horizon
        const anchor = [forecast.asOf, limit - forecast.spent];
        lines.push({ name: 'Forecast (analytics)', cls: 'forecast', points: [anchor, [forecast.horizon, limit - forecast.projected]] });
        if (forecast.lower !== null && forecast.upper !== null)
          bands.push({ name: '90 % interval', cls: 'forecast', points: [[forecast.asOf, anchor[1], anchor[1]], [forecast.horizon, limit - forecast.upper, limit - forecast.lower]] });
      }
      children.push(timeChart({
        title: `Budget ${budget.scope}: remaining of ${usd(limit)} over its period${forecast ? `, and its forecast to ${isoDay(forecast.horizon)}` : ''}`, name: `budget-${budget.scope}`, times,
        series: [{ name: 'Remaining (from usage)', values: remaining }], format: usd, lines, bands, span: [times[0], chartEnd],
      }));
    }
    children.push(await forecastNote(budget, analyticsAnswer));
    return el('div', { class: 'budget' }, ...children);
  }

  function renderRateLimits(daily, byKey, range) {
    const s = dailySeries(daily, range);
    const refused = s.pick(p => p.rate_limited);
    const total = Number(daily.totals.rate_limited) || 0;
    kpis($('ratelimit-kpis'), [
      ['Refused by rate limits', int(total), 'refusals'],
      ['Share of requests', pct(ratio(total, daily.totals.requests)), 'refusal-share'],
    ]);
    fill($('ratelimit-chart'), timeChart({ title: `Rate-limit refusals per day: ${int(total)} in all`, name: 'ratelimits', times: s.times, series: [{ name: 'Refusals per day', values: refused }], format: int, kind: 'bars', integer: true }));
    const keys = (byKey.groups || []).filter(g => Number(g.rate_limited) > 0).sort((a, b) => b.rate_limited - a.rate_limited).slice(0, 20);
    fill($('ratelimit-keys'), keys.length === 0
      ? note('No key was refused in this range.')
      : dataTable('ratelimit-keys', 'keys refused most', [{ label: 'Key' }, { label: 'Refusals', num: true }, { label: 'Requests', num: true }], keys.map(g => [g.value, int(g.rate_limited), int(g.requests)]), true));
  }

  function renderCache(daily, range) {
    const t = daily.totals;
    kpis($('cache-kpis'), [
      ['Hit rate', pct(ratio(t.cache_hits, t.requests)), 'hit-rate'],
      ['Cached answers', int(t.cache_hits), 'hits'],
      ['Saved', usd(Number(t.saved_usd) || 0), 'saved'],
    ]);
    const s = dailySeries(daily, range);
    const rate = s.points.map(p => (p ? ratio(p.cache_hits, p.requests) : 0));
    const saved = s.pick(p => p.saved_usd);
    fill($('cache-chart'),
      timeChart({ title: `Cache hit rate per day: ${pct(ratio(t.cache_hits, t.requests))} overall`, name: 'cache', times: s.times, series: [{ name: 'Hit rate', values: rate }], format: pct }),
      dataTable('cache', 'cache per day (UTC)', [{ label: 'Day' }, { label: 'Hits', num: true }, { label: 'Requests', num: true }, { label: 'Saved', num: true }],
        s.times.map((time, i) => [isoDay(time), int(s.points[i] ? s.points[i].cache_hits : 0), int(s.points[i] ? s.points[i].requests : 0), usd(saved[i])])));
  }

  function renderBreakers(breakers, byDeployment, stops) {
    const usage = new Map((byDeployment.groups || []).map(g => [g.value, g]));
    const rows = (breakers.deployments || []).map(d => {
      const u = usage.get(d.deployment);
      return el('tr', { 'data-key': d.deployment },
        el('td', {}, d.deployment),
        el('td', {}, d.provider),
        el('td', {}, el('span', { class: `state state-${d.state}` }, d.state.replace('_', '-')), d.called ? null : el('span', { class: 'muted' }, ' (not called yet)')),
        el('td', {}, d.last_change ? `${d.last_change.state.replace('_', '-')} at ${d.last_change.at}` : '—'),
        el('td', { class: 'num' }, u ? int(u.requests) : '0'),
        el('td', { class: 'num' }, u ? pct(ratio(u.errors, u.requests)) : '—'));
    });
    fill($('breakers'),
      note(`Breaker states as instance ${breakers.instance} knows them (each instance keeps its own); error rates over the range, from usage.`),
      el('table', { 'data-table': 'breakers' },
        el('caption', {}, 'Deployments'),
        el('thead', {}, el('tr', {}, ...['Deployment', 'Provider', 'Breaker', 'Last change'].map(h => el('th', { scope: 'col' }, h)),
          el('th', { scope: 'col', class: 'num' }, 'Requests'), el('th', { scope: 'col', class: 'num' }, 'Error rate'))),
        el('tbody', {}, ...rows)));
    const stopped = stops.data || [];
    fill($('stops'), stopped.length === 0
      ? note('No model or provider is stopped.')
      : dataTable('stops', 'emergency stops', [{ label: 'Stopped' }, { label: 'Reason' }, { label: 'Until' }], stopped.map(s => [`${s.target} ${s.name}`, s.reason || '—', s.until || 'resumed by hand']), true));
  }

  function renderSafety(daily, byTeam, range) {
    const s = dailySeries(daily, range);
    const blocks = s.pick(p => p.safety_blocks);
    const total = Number(daily.totals.safety_blocks) || 0;
    kpis($('safety-kpis'), [
      ['Blocked', int(total), 'blocks'],
      ['Share of requests', pct(ratio(total, daily.totals.requests)), 'block-share'],
    ]);
    fill($('safety-chart'), timeChart({ title: `Safety blocks per day: ${int(total)} in all`, name: 'safety', times: s.times, series: [{ name: 'Blocks per day', values: blocks }], format: int, kind: 'bars', integer: true }));
    const teams = (byTeam.groups || []).filter(g => Number(g.safety_blocks) > 0).sort((a, b) => b.safety_blocks - a.safety_blocks).slice(0, 20);
    fill($('safety-teams'), teams.length === 0
      ? note('No request was blocked in this range.')
      : dataTable('safety-teams', 'teams with blocks', [{ label: 'Team' }, { label: 'Blocks', num: true }, { label: 'Requests', num: true }], teams.map(g => [g.value, int(g.safety_blocks), int(g.requests)]), true));
  }

  // ---- analytics (GET /gateway/analytics) and savings (GET /gateway/savings) -------------------------------------

  /** The day the analytics snapshot is asked for: the range's last complete UTC day (the range ends with today, which is not). */
  const analyticsDate = range => isoDay(range.to - 2 * DAY);

  /** The window savings are asked for: the last SAVINGS_MAX_DAYS days of the range at most. */
  function savingsWindow(range) {
    const from = Math.max(range.from, range.to - SAVINGS_MAX_DAYS * DAY);
    return { from, to: range.to, days: Math.round((range.to - from) / DAY), fromText: isoTime(from), toText: isoTime(range.to) };
  }

  const RISKS = { exceeded: 'bad', likely: 'bad', possible: 'warn', none: 'good' };
  const SEVERITIES = { high: 3, medium: 2, low: 1 };
  const KINDS = {
    cheaper_model: 'Cheaper model', response_cache: 'Response cache', batch_api: 'Batch API', prompt_caching: 'Prompt caching',
    cheaper_deployment: 'Cheaper deployment', max_tokens: 'max_tokens cap',
  };

  const scopeLabel = (dimension, value) => (dimension === 'all' ? 'all traffic' : `${dimension}=${value}`);
  const badge = (cls, text, attrs = {}) => el('span', { class: `badge badge-${cls}`, ...attrs }, text);
  const riskBadge = risk => badge(RISKS[risk] || 'muted', words(risk), { 'data-risk': risk });

  /** A budget's entry in the snapshot's budgets[], when it is of the period the budget is in now; else null. */
  function budgetEntry(analytics, budget) {
    const entry = analytics && Array.isArray(analytics.budgets) ? analytics.budgets.find(b => b && b.scope === budget.scope) : null;
    return entry && Date.parse(entry.period_start) === Date.parse(budget.period_start) ? entry : null;
  }

  /** What the burn-down draws of a budget's forecast (ms and USD), or null. */
  function budgetForecast(analytics, budget) {
    const entry = budgetEntry(analytics, budget);
    if (!entry) return null;
    const f = { asOf: Date.parse(analytics.as_of), horizon: Date.parse(entry.horizon_end), spent: num(entry.spent_usd), projected: num(entry.projected_usd), lower: num(entry.lower_usd), upper: num(entry.upper_usd) };
    return Number.isFinite(f.asOf) && Number.isFinite(f.horizon) && Number.isFinite(f.projected) && Number.isFinite(f.spent) ? f : null;
  }

  /** The sentence under a budget's burn-down: its forecast from the snapshot, or why there is none. */
  async function forecastNote(budget, analyticsAnswer) {
    const analytics = await analyticsAnswer;
    if (analytics === null) return note('Forecast: the analytics snapshot could not be read (see its panel).');
    const entry = budgetEntry(analytics, budget);
    if (!entry) {
      const other = Array.isArray(analytics.budgets) && analytics.budgets.some(b => b && b.scope === budget.scope);
      return note(other
        ? `Forecast: the analytics snapshot of ${analytics.date} is of this budget's previous period; the next snapshot has this one.`
        : `Forecast: the analytics snapshot of ${analytics.date} has none for this budget (it was set after the snapshot was computed).`);
    }
    const limit = Number(entry.limit_usd);
    const interval = entry.lower_usd !== null && entry.upper_usd !== null ? ` (90 % interval ${usd(Number(entry.lower_usd))} to ${usd(Number(entry.upper_usd))})` : '';
    const runsOut = entry.runs_out_on
      ? `at ${usd(Number(entry.daily_rate_usd))} a day it runs out on ${entry.runs_out_on}.`
      : entry.risk === 'exceeded' ? 'its limit is reached.' : `at ${usd(Number(entry.daily_rate_usd))} a day it lasts the period.`;
    return el('p', { class: 'forecast', 'data-forecast': budget.scope },
      'Forecast (analytics, ', el('time', { datetime: analytics.date }, analytics.date), '): ', riskBadge(entry.risk), ` ${usd(Number(entry.projected_usd))} projected by ${isoDay(Date.parse(entry.horizon_end))}${interval} `,
      `against the ${usd(limit)} limit; ${runsOut}`);
  }

  /** A cost change of the trends: "+12.5 %", or why there is none. */
  function costChange(period) {
    const c = period.cost_usd;
    if (c.change_pct !== null && c.change_pct !== undefined) return signedPct(Number(c.change_pct));
    return c.previous === null || c.previous === undefined ? 'no traffic before' : 'from $0';
  }

  function renderAnalytics(a) {
    const host = $('analytics');
    const parts = [el('p', { class: 'note', 'data-analytics-date': a.date },
      'The snapshot of ', el('time', { datetime: a.date }, a.date), ` (UTC), the range's last complete day: computed ${isoTime(Date.parse(a.computed_at))}.`)];

    // trends: all traffic as figures, the costliest scopes in a table
    parts.push(el('h3', {}, 'Cost trends'));
    const trends = a.trends || [];
    const all = trends.find(t => t.dimension === 'all');
    if (all) {
      parts.push(figures([
        [`Cost on ${all.day.to}`, usd(Number(all.day.cost_usd.current)), 'trend-day', `${costChange(all.day)} on the day before`],
        [`7 days to ${all.week.to}`, usd(Number(all.week.cost_usd.current)), 'trend-week', `${costChange(all.week)} on the 7 before`],
        [`Month to ${all.month.to}`, usd(Number(all.month.cost_usd.current)), 'trend-month', `${costChange(all.month)} on the same days of last month`],
      ], { 'data-figures': 'trends' }));
    }
    const scoped = trends.filter(t => t.dimension !== 'all').sort((p, q) => Number(q.month.cost_usd.current) - Number(p.month.cost_usd.current));
    if (scoped.length === 0) parts.push(note(all ? 'No scope of a team, key, model or tag has trends on this day.' : `No traffic in the days up to ${a.date}.`));
    else {
      const shown = scoped.slice(0, 20);
      parts.push(el('details', {},
        el('summary', {}, `Trends by scope: the ${shown.length} costliest this month`),
        table('trends', `cost change by scope, ${a.date}`,
          [{ label: 'Scope' }, { label: 'Cost on the day', num: true }, { label: 'Day', num: true }, { label: 'Week', num: true }, { label: 'Month to date', num: true }, { label: 'Month', num: true }],
          shown.map(t => [scopeLabel(t.dimension, t.value), usd(Number(t.day.cost_usd.current)), costChange(t.day), costChange(t.week), usd(Number(t.month.cost_usd.current)), costChange(t.month)]))));
    }

    // the month-end forecast of all traffic
    const forecast = (a.forecasts || []).find(f => f.dimension === 'all');
    parts.push(el('h3', {}, forecast ? `Forecast for ${monthName(Date.parse(forecast.month_start))}` : 'Month-end forecast'));
    if (!forecast) parts.push(note('No forecast: no traffic this month or in the days before it.'));
    else {
      const interval = forecast.lower_usd !== null && forecast.upper_usd !== null ? `${usd(Number(forecast.lower_usd))} to ${usd(Number(forecast.upper_usd))}` : 'not enough days';
      parts.push(figures([
        ['Projected month end', usd(Number(forecast.projected_usd)), 'forecast-projected'],
        ['90 % interval', interval, 'forecast-interval'],
        ['Month to date', usd(Number(forecast.month_to_date_usd)), 'forecast-mtd', `${forecast.days_elapsed} of ${forecast.days_in_month} days`],
        ['Run rate', `${usd(Number(forecast.run_rate_usd_per_day))} a day`, 'forecast-rate', `${words(forecast.method)}, ${forecast.fit_days} days fitted`],
      ], { 'data-figures': 'forecast' }));
    }

    // budgets at the end of the day
    parts.push(el('h3', {}, 'Budgets'));
    const budgets = a.budgets || [];
    if (budgets.length === 0) parts.push(note(`No budget was set when the snapshot of ${a.date} was computed.`));
    else {
      const order = { exceeded: 0, likely: 1, possible: 2, none: 3 };
      const sorted = budgets.slice().sort((p, q) => (order[p.risk] ?? 4) - (order[q.risk] ?? 4) || String(p.scope).localeCompare(String(q.scope)));
      parts.push(table('analytics-budgets', `budgets at the end of ${a.date}, projected to the end of their period`,
        [{ label: 'Budget' }, { label: 'Limit', num: true }, { label: 'Spent', num: true }, { label: 'Projected', num: true }, { label: '90 % interval', num: true }, { label: 'By' }, { label: 'Risk' }, { label: 'Runs out on' }],
        sorted.map(b => [b.scope, usd(Number(b.limit_usd)), usd(Number(b.spent_usd)), usd(Number(b.projected_usd)),
          b.lower_usd !== null && b.upper_usd !== null ? `${usd(Number(b.lower_usd))} to ${usd(Number(b.upper_usd))}` : '—',
          isoDay(Date.parse(b.horizon_end)), riskBadge(b.risk), b.runs_out_on || (b.risk === 'exceeded' ? 'spent' : 'lasts the period')])));
    }

    // anomalies: the most severe first
    parts.push(el('h3', {}, `Anomalies on ${a.date}`));
    const anomalies = (a.anomalies || []).slice().sort((p, q) => (SEVERITIES[q.severity] || 0) - (SEVERITIES[p.severity] || 0) || q.score - p.score);
    if (anomalies.length === 0) parts.push(note(`No anomaly on ${a.date}: no scope's spend or error rate rose far above its baseline.`, 'note empty'));
    else {
      parts.push(table('anomalies', `spend and error-rate spikes on ${a.date}, the most severe first`,
        [{ label: 'Scope' }, { label: 'Kind' }, { label: 'Severity' }, { label: 'Reason' }],
        anomalies.slice(0, 50).map(x => [scopeLabel(x.dimension, x.value), words(x.kind), badge(x.severity === 'high' ? 'bad' : x.severity === 'medium' ? 'warn' : 'muted', x.severity, { 'data-severity': x.severity }), x.reason]),
        { keys: anomalies.slice(0, 50).map(x => x.id) }));
      if (anomalies.length > 50) parts.push(note(`The table shows the 50 most severe of ${anomalies.length}.`));
    }
    fill(host, ...parts);
  }

  function renderSavings(r, win) {
    const recommendations = r.recommendations || [];
    const parts = [
      el('p', { class: 'note', 'data-savings-window': `${win.fromText}/${win.toText}` },
        `Over the last ${win.days} days of the range (${isoDay(win.from)} to ${isoDay(win.to - DAY)}; the analysis reads raw records, ${SAVINGS_MAX_DAYS} days at most), `
        + `${Number(r.observed_days).toFixed(1)} days observed, scaled to 30 days.`),
      figures([
        ['Savings a month', usd(Number(r.total_monthly_saving_usd)), 'total'],
        ['Recommendations', int(recommendations.length), 'count'],
        ['Spend a month', usd(Number(r.monthly_spend_usd)), 'monthly-spend'],
        ['Requests analysed', int(r.requests), 'requests'],
      ], { 'data-figures': 'savings' }),
    ];
    if (recommendations.length === 0) {
      parts.push(note(Number(r.requests) > 0
        ? `No recommendation: nothing in these ${int(r.requests)} requests passes the thresholds (Gateway:Savings).`
        : 'No recommendation: there are no usage records in this window.', 'note empty'));
    } else {
      const keys = recommendations.map(x => `${x.kind}:${x.scope.kind}:${x.scope.value}`);
      parts.push(table('recommendations', 'savings recommendations, the largest first',
        [{ label: 'Recommendation' }, { label: 'Kind' }, { label: 'Scope' }, { label: 'Saving a month', num: true }, { label: 'Confidence' }, { label: 'Evidence' }],
        recommendations.map(x => [x.title, KINDS[x.kind] || words(x.kind), `${x.scope.kind} ${x.scope.value}`, usd(Number(x.estimated_monthly_saving_usd)),
          badge(x.confidence === 'high' ? 'good' : x.confidence === 'medium' ? 'warn' : 'muted', x.confidence), x.evidence && x.evidence.summary ? x.evidence.summary : '—']),
        { keys, foot: [{ text: 'Total', header: true, span: 3 }, { text: usd(Number(r.total_monthly_saving_usd)), num: true }, { text: '', span: 2 }] }));
      parts.push(note('Recommendations may overlap (the same requests can be cheaper several ways): the total is what is on the table, not what acting on all of them saves.'));
    }
    fill($('recommendations'), ...parts);
  }

  // ---- loading -----------------------------------------------------------------------------------------------------

  async function guard(sectionId, work) {
    const section = $(sectionId);
    section.removeAttribute('data-error');
    try {
      await work();
      section.dataset.state = 'ready';
    } catch (error) {
      if (error instanceof SignedOut) throw error;
      section.dataset.state = 'error';
      section.append(el('p', { class: 'error', 'data-error': 'true' }, `Could not load this panel: ${error.message}`));
    }
  }

  let loading = 0;

  async function loadAll() {
    const generation = ++loading;
    const started = performance.now();
    document.body.dataset.state = 'loading';
    $('load-status').textContent = 'Loading…';
    const range = rangeOf(Number($('range').value));
    $('range-text').textContent = `${isoDay(range.from)} to ${isoDay(range.to - DAY)} (UTC)`;
    for (const error of document.querySelectorAll('#dashboard [data-error]')) error.remove();

    // the budgets first: each then asks for its burn-down, the longest chain of calls on the page
    const budgets = api('/gateway/budgets');
    const daily = report({ from: range.fromText, to: range.toText, interval: 'day' });
    const grouped = {};
    const byDimension = dimension => (grouped[dimension] ??= report({ from: range.fromText, to: range.toText, group_by: dimension }));
    const analytics = analyticsOf(analyticsDate(range));
    const savingsRange = savingsWindow(range);
    const savings = savingsOf(savingsRange);
    // the analytics answer feeds the budgets' forecasts too; a failure there is its own panel's, not theirs
    const analyticsForBudgets = analytics.catch(error => { if (error instanceof SignedOut) throw error; return null; });
    const dimension = $('breakdown-dimension').value;
    try {
      await Promise.all([
        guard('panel-spend', async () => renderSpend(await daily, range)),
        guard('panel-breakdown', async () => renderBreakdown(await byDimension(dimension), dimension)),
        guard('panel-budgets', async () => renderBudgets(range, budgets, analyticsForBudgets)),
        guard('panel-ratelimits', async () => renderRateLimits(await daily, await byDimension('key'), range)),
        guard('panel-cache', async () => renderCache(await daily, range)),
        guard('panel-breakers', async () => renderBreakers(await api('/gateway/dashboard/breakers'), await byDimension('deployment'), await api('/gateway/stops'))),
        guard('panel-safety', async () => renderSafety(await daily, await byDimension('team'), range)),
        guard('panel-analytics', async () => renderAnalytics(await analytics)),
        guard('panel-recommendations', async () => renderSavings(await savings, savingsRange)),
      ]);
    } catch (error) {
      if (error instanceof SignedOut) {
        showSignIn('Your session has ended: sign in again.');
        return;
      }
      throw error;
    }
    if (generation !== loading) return;
    $('load-status').textContent = `Loaded in ${Math.round(performance.now() - started)} ms`;
    document.body.dataset.state = 'ready';
  }

  async function reloadBreakdown() {
    const range = rangeOf(Number($('range').value));
    const dimension = $('breakdown-dimension').value;
    try {
      await guard('panel-breakdown', async () => renderBreakdown(await report({ from: range.fromText, to: range.toText, group_by: dimension }), dimension));
    } catch (error) {
      if (error instanceof SignedOut) showSignIn('Your session has ended: sign in again.');
      else throw error;
    }
  }

  // ---- signing in and out ----------------------------------------------------------------------------------------

  let expiryTimer = 0;

  function clearPanels() {
    for (const id of ['spend-kpis', 'spend-chart', 'breakdown-chart', 'budgets', 'ratelimit-kpis', 'ratelimit-chart', 'ratelimit-keys', 'cache-kpis', 'cache-chart',
      'breakers', 'stops', 'safety-kpis', 'safety-chart', 'safety-teams', 'analytics', 'recommendations']) $(id).replaceChildren();
  }

  function showSignIn(message) {
    clearTimeout(expiryTimer);
    clearPanels();
    $('dashboard').hidden = true;
    $('session-bar').hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-error').textContent = message || '';
    document.body.dataset.state = 'signed-out';
    $('admin-key').focus();
  }

  function showDashboard(session) {
    $('sign-in').hidden = true;
    $('sign-in-error').textContent = '';
    $('dashboard').hidden = false;
    $('session-bar').hidden = false;
    const expires = Date.parse(session.expires_at);
    const time = $('session-expiry');
    time.dateTime = session.expires_at;
    time.textContent = new Date(expires).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
    clearTimeout(expiryTimer);
    expiryTimer = setTimeout(() => showSignIn('Your session has ended: sign in again.'), Math.max(0, expires - Date.now()));
  }

  async function signIn(event) {
    event.preventDefault();
    const input = $('admin-key');
    const key = input.value;
    input.value = '';
    $('sign-in-error').textContent = '';
    const response = await call('/gateway/dashboard/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ admin_key: key }) });
    if (response.status === 401) {
      $('sign-in-error').textContent = 'The admin key was not accepted.';
      document.body.dataset.state = 'signed-out';
      input.focus();
      return;
    }
    let session;
    try {
      session = await readJson(response);
    } catch (error) {
      $('sign-in-error').textContent = `Sign-in failed: ${error.message}`;
      return;
    }
    showDashboard(session);
    await loadAll();
  }

  async function signOut() {
    await call('/gateway/dashboard/session', { method: 'DELETE' });
    showSignIn('Signed out.');
  }

  async function start() {
    $('sign-in-form').addEventListener('submit', event => { signIn(event).catch(error => { $('sign-in-error').textContent = `Sign-in failed: ${error.message}`; }); });
    $('sign-out').addEventListener('click', () => { signOut().catch(error => { $('sign-in-error').textContent = `Sign-out failed: ${error.message}`; }); });
    $('range').addEventListener('change', () => { loadAll(); });
    $('breakdown-dimension').addEventListener('change', () => { reloadBreakdown(); });
    let session;
    try {
      session = await api('/gateway/dashboard/session');
    } catch (error) {
      showSignIn(error instanceof SignedOut ? 'Your session is no longer valid: sign in again.' : `The gateway could not be asked: ${error.message}`);
      return;
    }
    if (!session.signed_in) {
      showSignIn(session.sign_in_enabled === false ? 'Dashboard sign-in is off on this gateway: see Gateway:Dashboard:SessionKey in the README.' : '');
      return;
    }
    showDashboard(session);
    await loadAll();
  }

  start();
})();
