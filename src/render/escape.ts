/**
 * XML escaping for untrusted text (symbol names, titles, notes). Characters XML 1.0 forbids
 * (C0 controls other than tab/LF/CR, U+FFFE/U+FFFF, lone surrogates) are dropped or replaced,
 * so a hostile name can neither inject markup nor make the browser refuse the document.
 */

// Anything that needs attention: markup characters, forbidden controls, surrogates, U+FFFE/F.
// deno-lint-ignore no-control-regex
const NEEDS_WORK = /[&<>"\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]/;
// deno-lint-ignore no-control-regex
const FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const MARKUP = /[&<>"]/g;
const ENTITY: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

/** Drops characters XML forbids and replaces lone surrogates with U+FFFD. */
export function xmlSafe(text: string): string {
  return text.replace(FORBIDDEN, "").replace(LONE_SURROGATE, "\ufffd");
}

/** Escapes text for element content or a double-quoted attribute value. */
export function escapeXml(text: string): string {
  if (!NEEDS_WORK.test(text)) return text;
  return xmlSafe(text).replace(MARKUP, (c) => ENTITY[c]);
}

/**
 * Makes text safe inside an XML comment: no `--` (which XML forbids there) and no
 * forbidden characters.
 */
export function commentSafe(text: string): string {
  return xmlSafe(text).replace(/-(?=-)/g, "- ").replace(/-$/, "- ");
}

/**
 * Keeps only characters that cannot end a CSS declaration or break out of a style element;
 * quotes go too when unbalanced (an open string would swallow the rest of the rule).
 */
export function cssSafe(text: string): string {
  let s = xmlSafe(text).replace(/[{};<>&\\\n\r]/g, "");
  for (const q of ['"', "'"]) {
    if (s.split(q).length % 2 === 0) s = s.replaceAll(q, "");
  }
  return s;
}
