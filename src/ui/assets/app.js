// SPDX-License-Identifier: Apache-2.0
// Progressive enhancement only: every page works without this script.
// - live regions ([data-live]) refresh in place when the audit log moves (Server-Sent Events from
//   /api/events; polling when the stream is unavailable): the page is fetched again and each region's
//   content swapped, so the server stays the only place that renders HTML;
// - <time datetime> is shown in the viewer's time zone;
// - a search box with data-filter-table narrows that table as you type.
(() => {
  const status = document.getElementById('live-status');
  const setStatus = (text, on) => {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle('on', on);
    status.classList.toggle('off', !on);
  };

  function localTimes(root) {
    for (const t of root.querySelectorAll('time[datetime]')) {
      const d = new Date(t.getAttribute('datetime'));
      if (Number.isNaN(d.getTime())) continue;
      t.title = t.getAttribute('datetime');
      t.textContent = d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    }
  }

  function applyFilter(input) {
    const table = document.getElementById(input.dataset.filterTable);
    if (!table) return;
    const q = input.value.trim().toLowerCase();
    for (const row of table.tBodies[0] ? table.tBodies[0].rows : []) {
      row.classList.toggle('filtered-out', q !== '' && !row.textContent.toLowerCase().includes(q));
    }
  }
  const filters = () => document.querySelectorAll('input[data-filter-table]');
  for (const input of filters()) input.addEventListener('input', () => applyFilter(input));

  localTimes(document);

  const regions = () => Array.from(document.querySelectorAll('[data-live][id]'));
  if (regions().length === 0) return;
  let known = Math.max(...regions().map((r) => Number(r.dataset.seq) || 0));
  let refreshes = 0;
  let busy = false;
  let again = false;
  let timer;

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const res = await fetch(location.href, { headers: { accept: 'text/html', 'x-riposte-live': '1' }, cache: 'no-store', credentials: 'same-origin' });
      if (!res.ok || res.redirected) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      for (const region of regions()) {
        const fresh = doc.getElementById(region.id);
        if (!fresh) continue;
        known = Math.max(known, Number(fresh.dataset.seq) || 0);
        region.dataset.seq = fresh.dataset.seq || region.dataset.seq;
        if (fresh.innerHTML === region.innerHTML) continue;
        // keep what the reader opened and where the keyboard focus was
        const open = new Set(Array.from(region.querySelectorAll('details[open][data-key]')).map((d) => d.dataset.key));
        const focused = region.contains(document.activeElement) && document.activeElement.id ? document.activeElement.id : undefined;
        region.innerHTML = fresh.innerHTML;
        for (const d of region.querySelectorAll('details[data-key]')) if (open.has(d.dataset.key)) d.open = true;
        if (focused) document.getElementById(focused)?.focus();
        localTimes(region);
      }
      for (const input of filters()) applyFilter(input);
      refreshes++;
      document.documentElement.dataset.liveRefreshes = String(refreshes);
    } catch {
      // offline for a moment: the next event or poll tries again
    } finally {
      busy = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  }

  const moved = (seq) => {
    if (!(seq > known)) return;
    known = seq;
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  };

  function poll() {
    setStatus('Updating every 5 s', false);
    setInterval(refresh, 5000);
  }

  if (!('EventSource' in window)) return poll();
  const es = new EventSource('/api/events');
  let failures = 0;
  const onSeq = (e) => {
    failures = 0;
    setStatus('Live', true);
    try {
      moved(JSON.parse(e.data).seq);
    } catch {}
  };
  es.addEventListener('hello', onSeq);
  es.addEventListener('audit', onSeq);
  es.addEventListener('error', () => {
    setStatus('Reconnecting…', false);
    if (++failures >= 5) {
      es.close();
      poll();
    }
  });
})();
