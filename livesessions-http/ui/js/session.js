/* Reading a session record: its id, its status, the status labels and the order of the statuses in
 * the list. */

export const STATUS_RANK = { live: 0, scheduled: 1, ended: 2, cancelled: 3 };

export function sessionId(s) { return String(s.id || s._id || ''); }

export function statusOf(s) {
  if (s.status && STATUS_RANK.hasOwnProperty(s.status)) return s.status;
  return s.isLive ? 'live' : 'scheduled';
}

export const STATUS_LABELS = {
  live: '🔴 Live Now', scheduled: '⏰ Scheduled', ended: 'Ended', cancelled: 'Cancelled'
};
