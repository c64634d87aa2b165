/* The page's state, shared by the modules that read and change it. */

export const state = {
  auth: { token: null, source: null, user: null, admin: false },
  devSignIn: 'unknown', // 'unknown' | 'available' | 'unavailable'
  filter: 'all',
  query: '',
  sessions: new Map(),
  nextUrl: null,
  listSeq: 0,
  listAbort: null,
  route: { name: 'list', id: null },
  pendingJoin: new Map(),
  // Sessions the signed-in user registered for (true) or cancelled (false) on this page.
  registered: new Map(),
  watch: null,
  analyticsSeq: 0,
  live: { mode: 'connecting', source: null, errors: 0, opened: false, resumable: false, pollTimer: null, polls: 0 }
};
