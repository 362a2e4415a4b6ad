// Polling with exponential backoff: quick while things change, slower while they do not,
// stopped once `step` says there is nothing left to wait for.

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15000;

/**
 * Call `step()` repeatedly. It resolves to "changed" (poll again soon), "same" (back off) or
 * "done" (stop). Returns a function that stops polling.
 */
export function poll(step) {
  let delay = FIRST_DELAY_MS;
  let timer = null;
  let stopped = false;
  const run = async () => {
    if (stopped) return;
    let outcome;
    try {
      outcome = await step();
    } catch {
      outcome = "same";
    }
    if (stopped || outcome === "done") return;
    delay = outcome === "changed" ? FIRST_DELAY_MS : Math.min(delay * 2, MAX_DELAY_MS);
    timer = setTimeout(run, delay);
  };
  timer = setTimeout(run, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
