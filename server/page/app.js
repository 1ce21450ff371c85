// The partners page of `ptag serve`: plain JavaScript, no library, only the
// same-origin JSON API. Everything from the API goes into the DOM as text
// (textContent, setAttribute), never as markup: partner ids come from
// untrusted webhooks.
//
// Hooks for the browser tests (stable):
//   #token-form, #token-input, #token-message        the token form
//   #view-status, #live-status                       visible errors
//   #partners-table tbody tr[data-partner]           one row per partner (a[data-partner] links)
//   #has-tags input[data-tag], #lacks-tags input[data-tag]   tag filter checkboxes
//   #query, #query-error (pre[role=alert])           segment query and its diagnostics
//   #partners-table th[data-col=C] button[data-sort=C], aria-sort on the th
//   #partners-summary[data-total], #page-info, #page-prev, #page-next, #export-csv
//   #tags-table tbody tr[data-tag] td[data-field=count]
//   #history-chart svg path.series[data-tag], #interval, #history-table
//   #partner-id, #partner-missing, #partner-tags tbody tr[data-tag]
//   #timeline li[data-action][data-tag|data-name][data-event][data-time]
//   #flow-from, #flow-to, #flow-result [data-field=from_partners|moved|share|median|p25|p75]
//   #live-list li[data-seq]
//   body[data-view] and body[data-loading] (set while a view's request is in flight)
'use strict';

const TOKEN_KEY = 'ptag-token';
const PER_PAGE = 50;
const POLL_MS = 2000;
const HISTORY_LIMIT = 500;
const LIVE_POLL = 100;  // records per poll
const LIVE_KEEP = 12;
const SVG_NS = 'http://www.w3.org/2000/svg';
// Every other sort key (the metrics, tags, dates) is a number.
const TEXT_SORTS = new Set(['first', 'partner']);

const $ = (sel, root = document) => root.querySelector(sel);

// Text from outside (partner ids, tags, attribute values and event ids come
// from platforms' webhooks) goes in a bidi isolate of its own, so that a
// U+202E RIGHT-TO-LEFT OVERRIDE in it cannot reorder the text around it.
const isolate = (text) => h('bdi', {}, text);
// The same for places that take only text (a title, an option): U+2068
// FIRST STRONG ISOLATE ... U+2069 POP DIRECTIONAL ISOLATE.
const isolateText = (text) => `\u2068${text}\u2069`;

// h('a', {href: '/', class: 'x', dataset: {partner: id}}, 'text', child)
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  for (const c of children) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  for (const c of children) if (c != null) el.append(c instanceof Node ? c : String(c));
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

// ---- formatting ---------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

function formatTime(rfc3339, withTime = true) {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return String(rfc3339);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return withTime ? `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC` : day;
}

// A <time> with the RFC 3339 text, or a dash for null.
function timeEl(value, withTime = true) {
  if (value == null) return h('span', {class: 'none', title: 'never'}, h('span', {'aria-hidden': 'true'}, '—'),
                             h('span', {class: 'visually-hidden'}, 'never'));
  return h('time', {datetime: value, title: value}, formatTime(value, withTime));
}

const countFmt = new Intl.NumberFormat('en-US');
const moneyFmt = new Intl.NumberFormat('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 6});
const formatCount = (n) => (typeof n === 'number' ? countFmt.format(n) : String(n ?? '—'));
const formatMoney = (n) => (typeof n === 'number' ? moneyFmt.format(n) : String(n ?? '—'));

function formatDuration(seconds) {
  if (seconds == null) return '—';
  const units = [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
  let rest = Math.round(seconds);
  const parts = [];
  for (const [name, size] of units) {
    if (rest >= size || (parts.length === 0 && size === 1)) {
      parts.push(`${Math.floor(rest / size)} ${name}`);
      rest %= size;
    } else if (parts.length) {
      break; // "3 d 4 h", never "3 d 0 h 5 min"
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

const ACTIONS = {add: 'added', remove: 'removed', emit: 'emitted'};

// ---- the URL: the whole state of the page --------------------------------

function readUrl() {
  const p = new URLSearchParams(location.search);
  const list = (name) => p.getAll(name).flatMap((v) => v.split(',')).filter((s) => s !== '');
  if (p.has('partner')) return {view: 'partner', partner: p.get('partner')};
  const view = p.get('view');
  if (view === 'tags') {
    return {view: 'tags', tags: p.has('tag') ? p.getAll('tag').filter((s) => s !== '') : null,
            interval: p.get('interval') || ''};
  }
  if (view === 'flows') return {view: 'flows', from: p.get('from') || '', to: p.get('to') || ''};
  const page = Number.parseInt(p.get('page') || '1', 10);
  return {view: 'partners', has: list('has'), lacks: list('lacks'), q: p.get('q') || '',
          sort: p.get('sort') || '', page: Number.isFinite(page) && page > 0 ? page : 1};
}

// The query text of a state, both for the page's URL and for the API.
function stateQuery(s) {
  const p = new URLSearchParams();
  if (s.view === 'partner') p.set('partner', s.partner);
  else if (s.view === 'tags') {
    p.set('view', 'tags');
    if (s.tags) (s.tags.length ? s.tags : ['']).forEach((t) => p.append('tag', t));
    if (s.interval) p.set('interval', s.interval);
  } else if (s.view === 'flows') {
    p.set('view', 'flows');
    if (s.from) p.set('from', s.from);
    if (s.to) p.set('to', s.to);
  } else {
    if (s.has.length) p.set('has', s.has.join(','));
    if (s.lacks.length) p.set('lacks', s.lacks.join(','));
    if (s.q) p.set('q', s.q);
    if (s.sort) p.set('sort', s.sort);
    if (s.page > 1) p.set('page', String(s.page));
  }
  // Keep commas readable in the address bar (has=Bronze,Silver).
  return p.toString().replace(/%2C/g, ',');
}

const hrefOf = (s) => { const q = stateQuery(s); return q ? `/?${q}` : '/'; };

function go(state, {replace = false} = {}) {
  const url = hrefOf(state);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render({navigated: true});
}

// ---- the token and the API -------------------------------------------------

let token = null;

// Takes a token from the address's fragment (#token=...); false when it holds none.
function tokenFromFragment() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return false;
  // Out of the address bar first, whatever the fragment holds.
  history.replaceState(null, '', location.pathname + location.search);
  try {
    token = decodeURIComponent(m[1]);
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    token = null;  // a malformed %-escape: ask for the token instead
  }
  return true;
}

function takeToken() {
  if (!tokenFromFragment()) token = sessionStorage.getItem(TOKEN_KEY);
}

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body || {};
  }
}
class AuthError extends Error {}

async function request(path, params) {
  if (!token) throw new AuthError('no token');
  const url = params ? `${path}?${params}` : path;
  let res;
  try {
    res = await fetch(url, {headers: {Authorization: `Bearer ${token}`}, cache: 'no-store'});
  } catch (e) {
    throw new ApiError(0, `cannot reach the server (${e.message})`);
  }
  if (res.status === 401) {
    let why = '';
    try { why = (await res.json()).error || ''; } catch (e) { /* not JSON */ }
    askToken(`The server refused the token${why ? `: ${isolateText(why)}` : ''}. Enter a valid token.`);
    throw new AuthError('401');
  }
  return res;
}

async function api(path, params) {
  const res = await request(path, params);
  let body;
  try {
    body = await res.json();
  } catch (e) {
    throw new ApiError(res.status, `${path}: the server answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const where = body.parameter ? ` (parameter ${body.parameter})` : '';
    throw new ApiError(res.status, `${body.error || `the server answered ${res.status}`}${where}`, body);
  }
  return body;
}

function askToken(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  const msg = $('#token-message');
  msg.textContent = message || '';
  msg.hidden = !message;
  render({navigated: true});
}

// ---- status area -----------------------------------------------------------

function setStatus(which, text) {
  const el = $(`#${which}-status`);
  el.textContent = text || '';
  el.hidden = !text;
  el.classList.toggle('is-error', Boolean(text));
}

// Rebuilds part of the page without losing the focus: the element that had
// it is found again by its data-key.
function keepFocus(fn) {
  const active = document.activeElement;
  const key = active && active.dataset ? active.dataset.key : undefined;
  fn();
  if (key !== undefined && !document.contains(active)) {
    const again = [...document.querySelectorAll('[data-key]')].find((e) => e.dataset.key === key);
    if (again) again.focus({preventScroll: true});
  }
}

// ---- rendering, one view at a time -------------------------------------------

let current = null;        // the state being shown
let loadGeneration = 0;    // answers of an older load are dropped
let inFlight = 0;
const loaders = {partners: loadPartners, tags: loadTags, partner: loadPartner, flows: loadFlows};
const titles = {partners: 'Partners', tags: 'Tags', partner: 'Partner', flows: 'Flows', token: 'Open'};

function showView(name) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `${name}-view`;
  document.body.dataset.view = name;
  for (const [id, view] of [['nav-partners', 'partners'], ['nav-tags', 'tags'], ['nav-flows', 'flows']]) {
    const a = document.getElementById(id);
    if (view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${titles[name]} · ptag`;
}

async function render({navigated = false} = {}) {
  $('#sign-out').hidden = !token;
  if (!token) {
    showView('token');
    current = null;
    $('#token-input').focus();
    return;
  }
  const state = readUrl();
  const before = current;
  current = state;
  showView(state.view);
  if (navigated || !before) prepareView(state);
  // The focus goes to the new view's heading only when the view changes: a
  // sort, a page or a filter keeps it where the user is.
  const newView = navigated && (!before || before.view !== state.view || before.partner !== state.partner);
  await load({moveFocus: newView});
}

// Puts the URL's state into the view's inputs (only on navigation, so that a
// refresh never overwrites what the user is typing).
function prepareView(s) {
  if (s.view === 'partners') {
    $('#query').value = s.q;
    hideQueryError();
  } else if (s.view === 'tags') {
    $('#interval').value = s.interval;
  } else if (s.view === 'partner') {
    $('#partner-id').replaceChildren(isolate(s.partner));
    document.title = `Partner ${isolateText(s.partner)} · ptag`;
  }
}

async function load({moveFocus = false, quiet = false} = {}) {
  const state = current;
  const gen = ++loadGeneration;
  inFlight += 1;
  document.body.dataset.loading = 'true';
  if (!quiet) setStatus('view', '');
  try {
    await loaders[state.view](state, () => gen === loadGeneration, quiet);
    if (gen === loadGeneration) setStatus('view', '');
  } catch (e) {
    if (e instanceof AuthError) return;
    if (gen === loadGeneration) setStatus('view', `Could not load the page's data: ${isolateText(e.message)}`);
  } finally {
    inFlight -= 1;
    if (inFlight === 0) delete document.body.dataset.loading;
  }
  if (moveFocus && gen === loadGeneration) {
    const heading = $(`#${state.view}-heading`);
    if (heading) heading.focus({preventScroll: false});
  }
}

// ---- partners view -------------------------------------------------------------

let lastSegmentHref = '/';

function segmentParams(s, paged) {
  const p = new URLSearchParams();
  if (s.has.length) p.set('has', s.has.join(','));
  if (s.lacks.length) p.set('lacks', s.lacks.join(','));
  if (s.q) p.set('q', s.q);
  if (s.sort) p.set('sort', s.sort);
  if (paged) {
    p.set('page', String(s.page));
    p.set('per_page', String(PER_PAGE));
  }
  return p.toString();
}

async function loadPartners(s, fresh) {
  lastSegmentHref = hrefOf(s);
  const [tags, seg] = await Promise.all([
    api('/v1/tags'),
    api('/v1/segment', segmentParams(s, true)).catch((e) => e),
  ]);
  if (!fresh()) return;
  renderTagPicks(tags.known || Object.keys(tags.tags), s);
  renderSortHeaders(s.sort);
  if (seg instanceof Error) {
    const diags = seg instanceof ApiError && seg.body.parameter === 'q' ? seg.body.diagnostics : null;
    if (!diags) throw seg;
    // A query that does not compile: its diagnostics under the input, and no
    // rows (the old rows would not be the segment the address now names).
    showQueryError(diags);
    renderRows([], 'The query does not compile: no partners shown.');
    $('#partners-summary').textContent = 'The segment query has an error.';
    delete $('#partners-summary').dataset.total;
    renderPager(null, s);
    return;
  }
  hideQueryError();
  renderRows(seg.partners, seg.total === 0 ? 'No partner matches these filters.' : 'No partners on this page.');
  const summary = $('#partners-summary');
  summary.dataset.total = String(seg.total);
  summary.textContent = `${formatCount(seg.total)} partner${seg.total === 1 ? '' : 's'}` +
    (seg.clock ? ` · clock ${formatTime(seg.clock)}` : '');
  renderPager(seg, s);
}

function renderTagPicks(names, s) {
  // Tags named in the address but held by no one now stay pickable.
  const all = [...new Set([...names, ...s.has, ...s.lacks])].sort();
  for (const [box, kind, chosen] of [['#has-tags', 'has', s.has], ['#lacks-tags', 'lacks', s.lacks]]) {
    const items = all.map((tag) => {
      const input = h('input', {type: 'checkbox', dataset: {tag, key: `${kind}:${tag}`}});
      input.checked = chosen.includes(tag);
      return h('label', {class: 'pick'}, input, isolate(tag));
    });
    keepFocus(() => $(box).replaceChildren(...(items.length ? items : [h('span', {class: 'help'}, 'No tags yet.')])));
  }
}

function pickedTags(box) {
  return [...document.querySelectorAll(`${box} input[data-tag]:checked`)].map((i) => i.dataset.tag);
}

function renderRows(partners, emptyText) {
  const rows = partners.map((p) => h('tr', {dataset: {partner: p.partner}},
    h('th', {scope: 'row', class: 'partner-cell'},
      h('a', {href: hrefOf({view: 'partner', partner: p.partner}), dataset: {partner: p.partner, key: `row:${p.partner}`}},
        isolate(p.partner))),
    h('td', {}, chips(p.tags)),
    // The day only: the exact time is in the tooltip and on the partner's
    // page, and the narrower columns leave the tags room.
    h('td', {}, timeEl(p.joined_at, false)),
    h('td', {}, timeEl(p.last_activity, false)),
    h('td', {class: 'num', dataset: {field: 'revenue'}}, formatMoney(p.revenue)),
    h('td', {class: 'num', dataset: {field: 'sales'}}, formatCount(p.sales)),
    h('td', {class: 'num', dataset: {field: 'signups'}}, formatCount(p.signups))));
  if (!rows.length) rows.push(h('tr', {class: 'empty'}, h('td', {colspan: 7}, emptyText)));
  keepFocus(() => $('#partners-table tbody').replaceChildren(...rows));
}

function chips(tags) {
  if (!tags || !tags.length) return h('span', {class: 'none'}, 'none');
  return h('ul', {class: 'chips'}, ...tags.map((t) => h('li', {class: 'chip'}, isolate(t))));
}

function renderSortHeaders(sort) {
  const desc = sort.startsWith('-');
  const key = desc ? sort.slice(1) : sort;
  for (const th of document.querySelectorAll('#partners-table th[data-col]')) {
    const on = th.dataset.col === key;
    if (on) th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
    else th.removeAttribute('aria-sort');
    const button = $('button', th);
    const label = button.dataset.label || (button.dataset.label = button.textContent);
    // The arrow is decoration: aria-sort says the direction.
    button.replaceChildren(label, ...(on ? [' ', h('span', {'aria-hidden': 'true'}, desc ? '▼' : '▲')] : []));
  }
}

function renderPager(seg, s) {
  const info = $('#page-info');
  if (!seg) {
    info.textContent = '';
    $('#page-prev').disabled = $('#page-next').disabled = true;
    return;
  }
  const text = `Page ${formatCount(s.page)} of ${formatCount(seg.pages)}`;
  if (info.textContent !== text) info.textContent = text;
  $('#page-prev').disabled = s.page <= 1;
  $('#page-next').disabled = s.page >= seg.pages;
}

function showQueryError(diags) {
  const pre = $('#query-error');
  const text = diags.map((d) => d.rendered || `${d.line}:${d.column}: ${d.message}`).join('\n');
  if (pre.textContent !== text || pre.hidden) pre.textContent = text;  // an alert speaks again only when it changes
  pre.hidden = false;
  $('#query').setAttribute('aria-invalid', 'true');
  $('#query').setAttribute('aria-describedby', 'query-help query-error');
}

function hideQueryError() {
  $('#query-error').hidden = true;
  $('#query-error').textContent = '';
  $('#query').removeAttribute('aria-invalid');
  $('#query').setAttribute('aria-describedby', 'query-help');
}

function applyFilters() {
  go({view: 'partners', has: pickedTags('#has-tags'), lacks: pickedTags('#lacks-tags'),
      q: $('#query').value.trim(), sort: current.sort || '', page: 1});
}

async function exportCsv() {
  const s = current;
  const button = $('#export-csv');
  button.disabled = true;
  try {
    const res = await request('/v1/segment.csv', segmentParams(s, false));
    if (!res.ok) {
      let why = `the server answered ${res.status}`;
      try { why = (await res.json()).error || why; } catch (e) { /* not JSON */ }
      throw new Error(why);
    }
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', {href: url, download: 'partners.csv', hidden: true});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    setStatus('view', '');
  } catch (e) {
    if (!(e instanceof AuthError)) setStatus('view', `Could not export the CSV: ${isolateText(e.message)}`);
  } finally {
    button.disabled = false;
  }
}

// ---- tags view -------------------------------------------------------------------

async function loadTags(s, fresh) {
  const p = new URLSearchParams();
  if (s.tags) s.tags.forEach((t) => p.append('tag', t));
  if (s.interval) p.set('interval', s.interval);
  const wantsNone = s.tags && s.tags.length === 0;
  const [now, hist, all] = await Promise.all([
    api('/v1/tags'),
    wantsNone ? null : api('/v1/tags/history', p.toString()),
    s.tags ? api('/v1/tags/history', s.interval ? new URLSearchParams({interval: s.interval}).toString() : '') : null,
  ]);
  if (!fresh()) return;
  renderTagCounts(now.tags);
  const everTags = Object.keys((all || hist).tags);
  renderHistoryPicks([...new Set([...everTags, ...(now.known || Object.keys(now.tags))])].sort(), s.tags);
  const data = hist || {interval: s.interval || '', times: [], tags: {}};
  renderChart(data, wantsNone);
  renderHistoryTable(data);
}

function renderTagCounts(counts) {
  const max = Math.max(1, ...Object.values(counts));
  const rows = Object.entries(counts).map(([tag, n]) => {
    const bar = h('span', {class: 'bar', 'aria-hidden': 'true'});
    bar.style.width = `${(100 * n) / max}%`;
    return h('tr', {dataset: {tag}},
      h('th', {scope: 'row'}, h('a', {href: hrefOf({view: 'partners', has: [tag], lacks: [], q: '', sort: '', page: 1}),
                                     dataset: {key: `tagrow:${tag}`}}, isolate(tag))),
      h('td', {class: 'num', dataset: {field: 'count'}}, formatCount(n)),
      h('td', {class: 'bar-col'}, h('span', {class: 'bar-track'}, bar)));
  });
  if (!rows.length) rows.push(h('tr', {class: 'empty'}, h('td', {colspan: 3}, 'No partner holds a tag.')));
  keepFocus(() => $('#tags-table tbody').replaceChildren(...rows));
}

function renderHistoryPicks(names, chosen) {
  const items = names.map((tag) => {
    const input = h('input', {type: 'checkbox', dataset: {tag, key: `hist:${tag}`}});
    input.checked = !chosen || chosen.includes(tag);
    return h('label', {class: 'pick'}, input, isolate(tag));
  });
  keepFocus(() => $('#history-tags').replaceChildren(...(items.length ? items : [h('span', {class: 'help'}, 'No tags yet.')])));
}

// Okabe-Ito colours (told apart with colour blindness), then dashes.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#333333'];
const DASHES = ['', '6 4', '2 3'];

// A step of 1, 2 or 5 times a power of ten giving at most about 5 ticks.
function tickStep(max) {
  if (max <= 5) return 1;
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

let chartData = null;
let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (chartData && current && current.view === 'tags') renderChart(...chartData); }, 150);
});

function renderChart(data, wantsNone) {
  chartData = [data, wantsNone];
  const box = $('#history-chart');
  const legend = $('#history-legend');
  const tags = Object.keys(data.tags);
  const caption = $('#history-caption');
  if (!data.times.length || !tags.length) {
    box.replaceChildren(h('p', {class: 'help'}, wantsNone ? 'No tag chosen.' : 'No tag changes recorded yet.'));
    legend.replaceChildren();
    caption.textContent = '';
    return;
  }
  // Drawn at the size of its box, so that the labels stay legible on a phone.
  const W = Math.max(300, Math.min(1200, Math.round(box.clientWidth - 12) || 800));
  const H = W < 560 ? 240 : 320, L = 48, R = 16, T = 12, B = 36;
  const n = data.times.length;
  const step = tickStep(Math.max(0, ...tags.flatMap((t) => data.tags[t])));
  const maxY = Math.max(step, Math.ceil(Math.max(0, ...tags.flatMap((t) => data.tags[t])) / step) * step);
  const x = (i) => L + (n === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
  const y = (v) => T + (H - T - B) * (1 - v / maxY);
  const label = `Partners per tag by ${data.interval || 'interval'}, ${formatTime(data.times[0], false)} to ${formatTime(data.times[n - 1], false)}`;
  const chart = svg('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'history-svg-title', class: 'line-chart'},
    svg('title', {id: 'history-svg-title'}, `${label}: ${tags.map(isolateText).join(', ')}. The numbers are in the table below.`));
  const axes = svg('g', {class: 'axes'});
  for (let v = 0; v <= maxY; v += step) {
    axes.append(svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: v ? 'grid' : 'axis'}),
      svg('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end'}, formatCount(v)));
  }
  axes.append(svg('line', {x1: L, x2: L, y1: T, y2: H - B, class: 'axis'}));
  const xLabels = Math.min(n, W < 560 ? 3 : 5);
  const seen = new Set();
  for (let k = 0; k < xLabels; k++) {
    const i = xLabels === 1 ? 0 : Math.round((k * (n - 1)) / (xLabels - 1));
    if (seen.has(i)) continue;
    seen.add(i);
    const anchor = n === 1 ? 'middle' : k === 0 ? 'start' : k === xLabels - 1 ? 'end' : 'middle';
    axes.append(svg('line', {x1: x(i), x2: x(i), y1: H - B, y2: H - B + 5, class: 'axis'}),
      svg('text', {x: x(i), y: H - B + 20, 'text-anchor': anchor},
        formatTime(data.times[i], false).slice(0, data.interval === 'month' ? 7 : 10)));
  }
  chart.append(axes);
  const items = [];
  tags.forEach((tag, j) => {
    const colour = COLOURS[j % COLOURS.length];
    const dash = DASHES[Math.floor(j / COLOURS.length) % DASHES.length];
    const d = data.tags[tag].map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const path = svg('path', {d, class: 'series', stroke: colour, 'stroke-dasharray': dash || null, dataset: {tag}});
    const g = svg('g', {class: 'series-group'}, path);
    if (n <= 40) for (let i = 0; i < n; i++) g.append(svg('circle', {cx: x(i), cy: y(data.tags[tag][i]), r: 2.5, fill: colour}));
    chart.append(g);
    const swatch = h('span', {class: 'swatch', 'aria-hidden': 'true'});
    swatch.style.borderTopColor = colour;
    if (dash) swatch.style.borderTopStyle = 'dashed';
    items.push(h('li', {dataset: {tag}}, swatch, isolate(tag)));
  });
  box.replaceChildren(chart);
  legend.replaceChildren(...items);
  caption.textContent = `${label}. Each point is the number of partners holding the tag at the end of the interval.`;
}

function renderHistoryTable(data) {
  const tags = Object.keys(data.tags);
  $('#history-table thead tr').replaceChildren(h('th', {scope: 'col'}, data.interval ? `${data.interval} from` : 'From'),
    ...tags.map((t) => h('th', {scope: 'col', class: 'num'}, isolate(t))));
  const rows = data.times.map((t, i) => h('tr', {},
    h('th', {scope: 'row'}, timeEl(t, false)),
    ...tags.map((tag) => h('td', {class: 'num'}, formatCount(data.tags[tag][i])))));
  $('#history-table tbody').replaceChildren(...rows);
}

// ---- one partner ---------------------------------------------------------------------

// What each metric is (GET /v1/metrics: name, unit, summary), read once.
let metrics = [];
async function metricInfo() {
  if (!metrics.length) metrics = (await api('/v1/metrics')).metrics || [];
  return metrics;
}

async function loadPartner(s, fresh) {
  const path = `/v1/partners/${encodeURIComponent(s.partner)}`;
  let p, hist;
  try {
    [p, hist] = await Promise.all([api(path), api(`${path}/history`, `limit=${HISTORY_LIMIT + 1}`), metricInfo()]);
  } catch (e) {
    if (!fresh()) return;
    if (e instanceof ApiError && e.status === 404) {
      $('#partner-details').hidden = true;
      const missing = $('#partner-missing');
      missing.replaceChildren('There is no partner "', isolate(s.partner), '" in the store.');
      missing.hidden = false;
      return;
    }
    throw e;
  }
  if (!fresh()) return;
  $('#back-to-partners').setAttribute('href', lastSegmentHref);
  $('#partner-missing').hidden = true;
  $('#partner-details').hidden = false;
  const units = new Map(metrics.map((m) => [m.name, m.unit]));
  pairs('#partner-metrics', Object.entries(p.metrics || {}).map(([k, v]) =>
    [h('abbr', {title: metrics.find((m) => m.name === k)?.summary || ''}, k),
     units.get(k) === 'money' ? formatMoney(v) : formatCount(v)]));
  pairs('#partner-dates', [['joined', timeEl(p.joined_at)], ['last activity', timeEl(p.last_activity)],
                           ['last referral', timeEl(p.last_referral)]]);
  const attrs = Object.entries(p.attributes || {});
  pairs('#partner-attributes', attrs.map(([k, v]) => [isolate(k), isolate(typeof v === 'string' ? v : JSON.stringify(v))]),
        'No attributes.');
  const tagRows = (p.tags || []).map((t) => h('tr', {dataset: {tag: t.tag}},
    h('th', {scope: 'row'}, isolate(t.tag)), h('td', {}, timeEl(t.since)), h('td', {}, t.rule ? isolate(t.rule) : '—'),
    h('td', {}, t.expires ? timeEl(t.expires) : 'never')));
  if (!tagRows.length) tagRows.push(h('tr', {class: 'empty'}, h('td', {colspan: 4}, 'No tags.')));
  $('#partner-tags tbody').replaceChildren(...tagRows);
  renderTimeline(hist.records || []);
}

function pairs(sel, entries, emptyText = '—') {
  const items = entries.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
  $(sel).replaceChildren(...(items.length ? items : [h('dd', {class: 'none'}, emptyText)]));
}

function cause(r) {
  if (r.cause === 'event') return r.event ? h('span', {}, 'event ', h('code', {}, isolate(r.event))) : 'an event';
  return r.cause || '—';
}

// Newest first by the changes' times. The history comes newest recorded
// first, but an event that arrived late (a platform's webhooks come in any
// order) records an older time after newer ones. The sort is stable: changes
// of one time keep their recorded order.
const newestFirst = (records) => records.sort((a, b) => (Date.parse(b.time) || 0) - (Date.parse(a.time) || 0));

function renderTimeline(records) {
  const more = records.length > HISTORY_LIMIT;
  const items = newestFirst(records.slice(0, HISTORY_LIMIT)).map((r) => {
    const what = r.action === 'emit' ? r.name : r.tag;
    return h('li', {class: `entry action-${r.action}`,
                    dataset: {action: r.action, time: r.time, event: r.event || '', cause: r.cause || '',
                              [r.action === 'emit' ? 'name' : 'tag']: what ?? ''}},
      h('p', {class: 'when'}, timeEl(r.time)),
      h('p', {class: 'what'}, h('span', {class: 'action'}, ACTIONS[r.action] || r.action), ' ',
        h('span', {class: r.action === 'emit' ? 'name' : 'tag'}, isolate(what ?? ''))),
      h('p', {class: 'why'}, 'rule ', h('span', {class: 'rule'}, r.rule ? isolate(r.rule) : '—'), ' · cause: ', cause(r)));
  });
  if (!items.length) items.push(h('li', {class: 'empty'}, 'No changes recorded.'));
  $('#timeline').replaceChildren(...items);
  const note = $('#timeline-note');
  note.hidden = !more;
  note.textContent = `Only the latest ${HISTORY_LIMIT} changes are shown.`;
}

// ---- flows ---------------------------------------------------------------------------

async function loadFlows(s, fresh, quiet) {
  const now = await api('/v1/tags');
  if (!fresh()) return;
  const names = [...new Set([...(now.known || Object.keys(now.tags)), s.from, s.to].filter(Boolean))].sort();
  // A refresh keeps a choice not yet shown.
  fillSelect('#flow-from', names, quiet ? $('#flow-from').value : s.from);
  fillSelect('#flow-to', names, quiet ? $('#flow-to').value : s.to);
  const result = $('#flow-result');
  if (!s.from || !s.to) {
    result.replaceChildren(h('p', {class: 'help'}, 'Choose two tags and press "Show the flow".'));
    return;
  }
  if (s.from === s.to) {
    result.replaceChildren(h('p', {class: 'message-error'}, 'Choose two different tags.'));
    return;
  }
  const f = await api('/v1/flows', new URLSearchParams({from: s.from, to: s.to}).toString());
  if (!fresh()) return;
  const field = (name, text) => h('strong', {dataset: {field: name}}, text);
  const share = f.from_partners ? `${((100 * f.moved) / f.from_partners).toFixed(1)} %` : '—';
  const sentence = f.from_partners
    ? h('p', {class: 'flow-sentence'}, field('moved', formatCount(f.moved)), ' of ', field('from_partners', formatCount(f.from_partners)),
      ` partner${f.from_partners === 1 ? '' : 's'} that had “`, isolate(f.from), '” were given “', isolate(f.to), '” after it: ',
      field('share', share), '.')
    : h('p', {class: 'flow-sentence'}, 'No partner has ever been given “', isolate(f.from), '”.', field('from_partners', '0'),
      field('moved', '0'));
  const stats = [['p25', 'p25_seconds', 'A quarter moved within'], ['median', 'median_seconds', 'Half moved within (median)'],
                 ['p75', 'p75_seconds', 'Three quarters moved within'], ['min', 'min_seconds', 'Quickest'], ['max', 'max_seconds', 'Slowest']];
  const dl = h('dl', {class: 'pairs flow-stats'}, ...stats.flatMap(([name, key, text]) => [
    h('dt', {}, text), h('dd', {dataset: {field: name, seconds: f[key] ?? ''}}, formatDuration(f[key]))]));
  result.replaceChildren(sentence, f.moved ? dl : h('p', {class: 'help'}, 'No durations: no partner moved.'));
}

function fillSelect(sel, names, chosen) {
  const select = $(sel);
  const options = [h('option', {value: ''}, '(choose a tag)'), ...names.map((n) => h('option', {value: n}, isolateText(n)))];
  keepFocus(() => select.replaceChildren(...options));
  select.value = chosen || '';
}

// ---- live updates ------------------------------------------------------------------------

let lastSeq = null;
let pollTimer = null;
let pendingRefresh = false;

function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(poll, POLL_MS);
}

async function poll() {
  if (!token || document.hidden) return schedulePoll();
  try {
    const wasFirst = lastSeq == null;
    let body = await api('/v1/records', wasFirst ? `limit=${LIVE_KEEP}` : `after=${lastSeq}&limit=${LIVE_POLL}`);
    let records = body.records || [];
    let more = 0;
    if (records.length === LIVE_POLL) {
      // Faster than a poll can follow: skip to the newest, so the list stays current.
      body = await api('/v1/records', `limit=${LIVE_KEEP}`);
      more = Math.max(0, body.last - lastSeq - (body.records || []).length);
      records = (body.records || []).filter((r) => r.seq > lastSeq);
    }
    if (records.length) lastSeq = records[records.length - 1].seq;
    else if (lastSeq == null || body.last < lastSeq) lastSeq = body.last; // a new store starts again
    showLive(records);
    if (!wasFirst && records.length) {
      announce(records.length + more);
      // Flows re-read the audit trail: they are refreshed only when asked.
      if (current && current.view !== 'flows') pendingRefresh = true;
    }
    setStatus('live', '');
  } catch (e) {
    if (!(e instanceof AuthError)) setStatus('live', `Live updates paused: ${isolateText(e.message)}. Trying again.`);
  }
  // Refresh the view with the new changes, but never over a load in flight.
  if (pendingRefresh && current && inFlight === 0) {
    pendingRefresh = false;
    load({quiet: true});
  }
  schedulePoll();
}

// One short message for screen readers per poll, not one per change.
function announce(n) {
  $('#live-summary').textContent = `${formatCount(n)} new ${n === 1 ? 'change' : 'changes'}`;
}

function showLive(records) {
  const list = $('#live-list');
  for (const r of records) {
    const what = r.action === 'emit' ? r.name : r.tag;
    list.prepend(h('li', {dataset: {seq: r.seq, action: r.action, partner: r.partner}},
      timeEl(r.time), ' ',
      h('a', {href: hrefOf({view: 'partner', partner: r.partner}), class: 'partner-id'}, isolate(r.partner)), ' ',
      h('span', {class: 'action'}, ACTIONS[r.action] || r.action), ' ',
      h('span', {class: 'tag'}, isolate(what ?? ''))));
  }
  while (list.children.length > LIVE_KEEP) list.lastElementChild.remove();
  $('#live-empty').hidden = list.children.length > 0;
}

// ---- events --------------------------------------------------------------------------------

// A token was just given (by the form or in the address): show the view and
// the latest changes with it.
function startWithToken() {
  $('#token-message').hidden = true;
  lastSeq = null;
  render({navigated: true});
  schedulePoll();
}

function wire() {
  // Same-page links change the address without a reload.
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[href]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (a.hasAttribute('download') || a.target) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname !== '/' || url.hash) return;
    e.preventDefault();
    history.pushState(null, '', url.pathname + url.search);
    render({navigated: true});
  });
  // `/#token=...` typed into the address bar of an open tab changes only the
  // fragment: there is no reload, so the token is taken here (popstate comes
  // first, hashchange after it).
  window.addEventListener('popstate', () => {
    if (tokenFromFragment()) startWithToken();
    else render({navigated: true});
  });
  window.addEventListener('hashchange', () => { if (tokenFromFragment()) startWithToken(); });

  $('#token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('#token-input').value.trim();
    if (!value) return;
    token = value;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#token-input').value = '';
    startWithToken();
  });
  $('#sign-out').addEventListener('click', () => askToken(''));

  $('#filters').addEventListener('submit', (e) => { e.preventDefault(); applyFilters(); });
  $('#filters').addEventListener('change', (e) => { if (e.target.matches('input[data-tag]')) applyFilters(); });
  $('#clear-filters').addEventListener('click', () => go({view: 'partners', has: [], lacks: [], q: '', sort: current.sort || '', page: 1}));
  $('#export-csv').addEventListener('click', exportCsv);
  $('#partners-table thead').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-sort]');
    if (!b) return;
    const key = b.dataset.sort;
    // First press: numbers and dates largest first, names A to Z; again: the other way.
    const next = current.sort === key ? `-${key}` : current.sort === `-${key}` ? key
      : TEXT_SORTS.has(key) ? key : `-${key}`;
    go({...current, sort: next, page: 1});
  });
  $('#page-prev').addEventListener('click', () => go({...current, page: Math.max(1, current.page - 1)}));
  $('#page-next').addEventListener('click', () => go({...current, page: current.page + 1}));

  $('#interval').addEventListener('change', () => go({...current, interval: $('#interval').value}));
  $('#history-form').addEventListener('submit', (e) => e.preventDefault());
  $('#history-tags').addEventListener('change', () => {
    const boxes = [...document.querySelectorAll('#history-tags input[data-tag]')];
    const chosen = boxes.filter((b) => b.checked).map((b) => b.dataset.tag);
    go({...current, tags: chosen.length === boxes.length ? null : chosen});
  });

  $('#flows-form').addEventListener('submit', (e) => {
    e.preventDefault();
    go({view: 'flows', from: $('#flow-from').value, to: $('#flow-to').value});
  });
}

wire();
takeToken();
render({navigated: false});
poll();
