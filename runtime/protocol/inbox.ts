/**
 * Reply subjects of the client transport: one subscription on `{inbox}.*` receives the
 * replies of every call, each sent to `{inbox}.{token}`, so no subscription is made per call.
 * @module
 */

/** The subject the reply of call `token` goes to: `_INBOX.abc.1f`. */
export function inboxReplySubject(inbox: string, token: string): string {
  return `${inbox}.${token}`;
}

/** The subscription that receives every reply to `inbox`: `_INBOX.abc.*`. */
export function inboxReplies(inbox: string): string {
  return `${inbox}.*`;
}
