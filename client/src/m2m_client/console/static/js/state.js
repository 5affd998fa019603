// Secrets created in this browser tab, for "Try it". Kept in memory only (never in
// storage): reloading the page forgets them, as the server does not keep them either.
export const recentSecrets = new Map();
