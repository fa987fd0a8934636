/**
 * Bounded caches for the collapsers: text repeats endlessly in a profile (the same frame lines,
 * the same samples), so what was worked out for it is kept, but memory must stay bounded
 * whatever the input. A cache holds at most a given number of characters and entries; when full
 * it takes no more, and it is emptied only when it has stopped paying (it missed more than it
 * hit over a window of lookups), so that it can learn a new phase of the profile without being
 * emptied and refilled over and over (which would make garbage as fast as the input comes).
 */

/**
 * Characters each cache may hold by default (keys and values): some 30,000 perf frame lines,
 * more than the recordings measured here have (a 44 MB system-wide one: 17,000).
 */
export const CACHE_CHARS = 1 << 21;
/** Entries each cache may hold. */
const CACHE_ENTRIES = 200_000;
/** Lookups after which a full cache that misses more often than it hits is emptied. */
const CACHE_WINDOW = 1 << 16;

/**
 * The use of one bounded cache (or of a few emptied together): how full it is, and how often
 * it hit lately.
 */
export class CacheUse {
  #chars = 0;
  #full = false;
  #lookups = 0;
  #hits = 0;

  /** Counts a lookup; true when the cache should be emptied now (then call `emptied`). */
  looked(hit: boolean): boolean {
    if (hit) this.#hits++;
    if (++this.#lookups < CACHE_WINDOW) return false;
    const empty = this.#full && this.#hits * 2 < this.#lookups;
    this.#lookups = 0;
    this.#hits = 0;
    return empty;
  }

  /** True when an entry of `chars` characters fits in `cache` (and counts it as stored). */
  admits(chars: number, cache: Map<string, unknown>, limit: number): boolean {
    if (this.#full || this.#chars + chars > limit || cache.size >= CACHE_ENTRIES) {
      this.#full = true;
      return false;
    }
    this.#chars += chars;
    return true;
  }

  /** The cache was emptied. */
  emptied(): void {
    this.#chars = 0;
    this.#full = false;
  }
}

/**
 * A copy of `s` that does not share the chunk of input it was sliced from. V8 keeps a whole
 * chunk alive as long as any slice of it is: text kept in a cache must not hold on to 64 KiB.
 */
export function detached(s: string): string {
  return (" " + s).slice(1);
}

/**
 * `f` with its answers kept per argument, at most `limit` of them (then forgotten at once):
 * for functions of names and modules, which repeat endlessly across stacks. An answer kept is
 * the same string each time, so maps keyed by it do not hash it again.
 */
export function memoize<T>(f: (s: string) => T, limit = 100_000): (s: string) => T {
  const cache = new Map<string, T>();
  return (s) => {
    let v = cache.get(s);
    if (v === undefined) {
      v = f(s);
      if (cache.size >= limit) cache.clear();
      cache.set(s, v);
    }
    return v;
  };
}
