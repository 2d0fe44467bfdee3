/**
 * The page must be opened at the server's own address (PUBLIC_URL): the room connection goes there,
 * and the page's security policy lets it connect only to its own origin. A link opened on another
 * host name (an alias, an IP address, http instead of https) would otherwise retry forever.
 */
export class WrongAddressError extends Error {
  constructor(
    readonly here: string,
    readonly there: string,
  ) {
    super(`This page was opened at ${here}, but Consilium is served at ${there}. Open ${there} instead (the room link with that address works; ask IT to fix links that use ${here}).`);
    this.name = 'WrongAddressError';
  }
}

/** The address to use instead of `page`'s, or null when the page is where rooms connect (`endpoint`). */
export function wrongAddress(endpoint: string, page: { origin: string; pathname: string; hash: string }): WrongAddressError | null {
  let there: URL;
  try {
    there = new URL(endpoint);
  } catch {
    return null;
  }
  if (there.origin === page.origin) return null;
  const base = `${there.origin}${there.pathname.replace(/\/+$/, '')}`;
  return new WrongAddressError(page.origin, `${base}${page.pathname}${page.hash}`);
}
