// The counter page's script: it follows the agent's server-sent events
// (a scan, a printed ticket, the inactivity warning, a printer problem)
// instead of reloading on a timer, and makes every choice reachable with
// a numeric keypad. Without it the page still works with forms.
//
// Keypad: arrows or 8/2 (up/down) and 4/6 (left/right) move between the
// choices, Enter or 5 chooses, * (or F1, ?, the Help key) reads the screen
// aloud and switches speech on, 0 (Escape in the code field) goes back.
(function () {
  'use strict';

  var app = document.getElementById('app');
  var live = document.getElementById('live');
  if (!app) { return; }

  function post(path, body) {
    return fetch(path, {
      method: 'POST', body: body || new URLSearchParams(), credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }
    });
  }

  function controls() {
    var scope = document.getElementById('idle') || app;
    return Array.prototype.filter.call(scope.querySelectorAll('button, input[type=text]'), function (el) {
      return !el.disabled && el.offsetParent !== null;
    });
  }

  // Focus the page moves itself is not the visitor's input: it neither
  // restarts the inactivity timeout nor is spoken over the screen's text.
  var quiet = false;
  function focusQuietly(el) {
    quiet = true;
    try { el.focus(); } finally { quiet = false; }
  }

  function focusFirst() {
    var idle = document.getElementById('more-time');
    var first = idle || app.querySelector('[autofocus]') || controls()[0];
    if (first) { focusQuietly(first); }
  }

  function move(step) {
    var c = controls();
    if (c.length === 0) { return; }
    var i = c.indexOf(document.activeElement);
    i = i < 0 ? 0 : (i + step + c.length) % c.length;
    c[i].focus();
  }

  function announce() {
    var text = app.getAttribute('data-announce') || '';
    // Cleared first so the same text is announced again on a new screen.
    live.textContent = '';
    window.requestAnimationFrame(function () { live.textContent = text; });
  }

  // A short tone when a ticket appears, once per ticket: the printing is
  // heard as well as seen.
  function beep() {
    var key = app.getAttribute('data-beep');
    if (!key || window.sessionStorage.getItem('beep') === key) { return; }
    window.sessionStorage.setItem('beep', key);
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    try {
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio output */ }
  }

  function screenKey(el) {
    return [el.getAttribute('data-screen'), el.getAttribute('data-lang'), el.getAttribute('data-warn')].join('|');
  }

  // Fetch the page and swap it in; focus moves only when the screen did.
  var loading = false, again = false;
  function refresh() {
    if (loading) { again = true; return; }
    loading = true;
    fetch('/', { cache: 'no-store', credentials: 'same-origin' }).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var next = doc.getElementById('app');
      if (!next) { return; }
      var changed = screenKey(next) !== screenKey(app);
      var focusedKey = document.activeElement && document.activeElement.getAttribute('data-key');
      // What the visitor is typing survives an update of the same screen
      // (a printer status, say).
      var typed = isCodeField(document.activeElement) ? document.activeElement.value : null;
      var root = document.documentElement;
      root.lang = doc.documentElement.lang;
      root.dir = doc.documentElement.dir;
      root.className = doc.documentElement.className;
      document.title = doc.title;
      next = document.importNode(next, true);
      app.replaceWith(next);
      app = next;
      if (changed) {
        focusFirst();
        announce();
      } else if (focusedKey) {
        var same = app.querySelector('[data-key="' + focusedKey + '"]');
        if (same) {
          if (typed !== null && isCodeField(same)) { same.value = typed; }
          focusQuietly(same);
        }
      }
      beep();
    }).catch(function () { /* the agent is restarting; the stream reconnects */ }).then(function () {
      loading = false;
      if (again) { again = false; refresh(); }
    });
  }

  function isCodeField(el) { return el && el.tagName === 'INPUT'; }

  function clickKey(key) {
    var el = app.querySelector('[data-key="' + key + '"]');
    if (el) { el.click(); return true; }
    return false;
  }

  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var rtl = document.documentElement.dir === 'rtl';
    var inField = isCodeField(e.target);
    var k = e.key;
    if (k === '*' || k === 'F1' || k === 'Help' || (k === '?' && !inField)) {
      e.preventDefault();
      clickKey('help');
      return;
    }
    if (k === 'ArrowDown' || (k === '2' && !inField)) { e.preventDefault(); move(1); return; }
    if (k === 'ArrowUp' || (k === '8' && !inField)) { e.preventDefault(); move(-1); return; }
    if (!inField && (k === 'ArrowRight' || k === '6')) { e.preventDefault(); move(rtl && k === 'ArrowRight' ? -1 : 1); return; }
    if (!inField && (k === 'ArrowLeft' || k === '4')) { e.preventDefault(); move(rtl && k === 'ArrowLeft' ? 1 : -1); return; }
    if (k === '5' && !inField) {
      e.preventDefault();
      if (document.activeElement && document.activeElement.click) { document.activeElement.click(); }
      return;
    }
    if ((k === '0' && !inField) || k === 'Escape') {
      e.preventDefault();
      if (!clickKey('back')) { clickKey('done'); }
    }
  });

  // The focused choice is spoken (when speech is on) and counts as input
  // for the inactivity timeout.
  var lastSpoken = null;
  document.addEventListener('focusin', function (e) {
    var el = e.target;
    if (quiet) { lastSpoken = el; return; }
    if (!el || el === lastSpoken) { return; }
    lastSpoken = el;
    var label = el.labels && el.labels.length ? el.labels[0].textContent : (el.getAttribute('aria-label') || el.textContent);
    post('/focus', new URLSearchParams({ text: (label || '').trim() })).catch(function () {});
  });

  if (window.EventSource) {
    var es = new EventSource('/events');
    es.addEventListener('change', refresh);
    // After a reconnect (agent restarted) the page may be stale.
    es.addEventListener('open', function () { if (es.opened) { refresh(); } es.opened = true; });
  }
  focusFirst();
  announce();
  beep();
})();
