// Keeps the server-rendered Moscow clock ticking.
//
// The time comes from the server's instant plus the browser's monotonic
// clock (performance.now), never from the visitor's wall clock, which may be
// wrong. The offset comes from the server too, so the page follows the tz
// database the server pins, not whatever the browser ships.
"use strict";

(() => {
  const RESYNC_MS = 5 * 60 * 1000;
  const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December"];

  const timeEl = document.getElementById("now");
  const clockEl = document.getElementById("clock");
  const dateEl = document.getElementById("date");
  const zoneEl = document.getElementById("zone");
  if (!timeEl || !clockEl || !dateEl || !zoneEl) {
    return;
  }

  // The server's epoch (ms) at the moment performance.now() read `anchor`.
  let serverMs = Number(timeEl.dataset.epoch) * 1000;
  let offsetSeconds = Number(timeEl.dataset.offsetSeconds);
  let utcOffset = timeEl.dataset.utcOffset;
  let anchor = performance.now();
  let timer = 0;

  const pad = (n) => String(n).padStart(2, "0");

  function render() {
    const nowMs = serverMs + (performance.now() - anchor);
    // A Date shifted by the offset, read with UTC getters, is Moscow's wall clock.
    const wall = new Date(nowMs + offsetSeconds * 1000);
    const hms = `${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}`;
    const ymd = `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}`;
    clockEl.textContent = hms;
    dateEl.textContent = `${WEEKDAYS[wall.getUTCDay()]}, ${wall.getUTCDate()} ` +
      `${MONTHS[wall.getUTCMonth()]} ${wall.getUTCFullYear()}`;
    timeEl.dateTime = `${ymd}T${hms}${utcOffset}`;
    document.title = `${hms} in Moscow`;
    document.documentElement.dataset.ticking = "true";
    // Tick just after the next whole second, so the display never lags.
    clearTimeout(timer);
    timer = setTimeout(render, 1000 - (nowMs % 1000) + 5);
  }

  async function resync() {
    const sent = performance.now();
    try {
      const response = await fetch("/api/time", { cache: "no-store" });
      if (!response.ok) {
        return;
      }
      const data = await response.json();
      const received = performance.now();
      // The server read its clock about halfway through the round trip.
      serverMs = data.epoch * 1000 + (received - sent) / 2;
      anchor = received;
      offsetSeconds = data.offset_seconds;
      utcOffset = data.utc_offset;
      zoneEl.textContent = `Moscow (${data.abbreviation}, UTC${data.utc_offset})`;
      render();
    } catch {
      // Offline for a moment: keep ticking from the last sync.
    }
  }

  render();
  setInterval(resync, RESYNC_MS);
  // Background tabs throttle timers; catch up when the tab is seen again.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      resync();
    }
  });
})();
