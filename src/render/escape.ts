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

export { BIDI_SENSITIVE, isolate } from "../format.ts";

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

/** CSS's generic font families: written bare (quoted, they would name a font called so). */
const GENERIC_FAMILIES = new Set([
  "serif",
  "sans-serif",
  "monospace",
  "cursive",
  "fantasy",
  "system-ui",
  "ui-serif",
  "ui-sans-serif",
  "ui-monospace",
  "ui-rounded",
  "math",
  "emoji",
  "fangsong",
]);

// Words CSS gives a meaning of their own in any property: a family named so must be quoted.
const CSS_WIDE = new Set(["inherit", "initial", "unset", "revert", "revert-layer", "default"]);

/**
 * True when CSS reads a family as written: ASCII identifiers, none a CSS-wide keyword,
 * separated by spaces (`Verdana`, `Times New Roman`, `sans-serif`). Others are quoted.
 */
function plainFamily(family: string): boolean {
  return family.split(" ").every((w) =>
    /^[A-Za-z_][\w-]*$/.test(w) && !CSS_WIDE.has(w.toLowerCase())
  );
}

// An unquoted family: words of letters, digits, '_', '-' and '.', separated by spaces.
const UNQUOTED_FAMILY = /^[\p{L}\p{N}_.-]+(?: +[\p{L}\p{N}_.-]+)*$/u;
// Inside quotes: anything but the quotes themselves, backslashes, controls and XML's markup
// characters (the stylesheet is XML text).
// deno-lint-ignore no-control-regex
const QUOTED_FAMILY = /^(?:"[^"'\\\x00-\x1f\x7f<>&]+"|'[^"'\\\x00-\x1f\x7f<>&]+')$/;

/**
 * Reads a CSS font-family list as `--fonttype` takes it (`Verdana`, `'DejaVu Sans Mono',
 * monospace`) and writes it back as CSS that can only be a font-family list: plain ASCII names
 * (and the generic ones) as they are, every other family double-quoted, so no value can end
 * the declaration, open a comment or leave the style element. Returns undefined when `text` is not a font-family list
 * (`Verdana; } * { display:none } /*` is not).
 */
export function cssFontFamilies(text: string): string | undefined {
  const families: string[] = [];
  for (const item of text.split(",")) {
    const family = item.trim().replace(/[ \t]+/g, " ");
    if (UNQUOTED_FAMILY.test(family)) {
      families.push(plainFamily(family) ? family : `"${family}"`);
    } else if (QUOTED_FAMILY.test(family)) {
      families.push(`"${family.slice(1, -1)}"`);
    } else {
      return undefined;
    }
  }
  return families.join(", ");
}

/** True when a font-family list (as cssFontFamilies writes it) ends with a generic family. */
export function endsGeneric(families: string): boolean {
  const last = families.slice(families.lastIndexOf(",") + 1).trim();
  return GENERIC_FAMILIES.has(last.toLowerCase());
}
