//! History over HTTP: catching up after a (re)join (`afterSeq`, page after page until the
//! gap is closed), older pages for scrolling back (`beforeSeq`), and the HTTP-only mode's
//! first look (the newest page). [`History`] holds the requests under way; the engine's
//! part below merges the pages into the conversations.

use crate::text;
use chat_wire::rest::HistoryPage;
use chat_wire::socket::AckFailure;
use chat_wire::{ConversationId, ErrorCode};

use super::Engine;
use super::conversation::Sync;
use crate::ids::RequestId;
use crate::json;
use crate::time::Millis;
use crate::vecmap::VecMap;

#[derive(Clone, Copy, Debug)]
pub(crate) struct HistoryRequest {
    conversation: ConversationId,
    kind: HistoryKind,
    deadline: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HistoryKind {
    /// Catching up: `afterSeq`.
    After(i64),
    /// An older page: `beforeSeq`.
    Before(i64),
    /// HTTP-only mode's first look at a conversation: the newest page.
    Latest,
}

/// The history requests under way.
#[derive(Debug, Default)]
pub(crate) struct History {
    requests: VecMap<RequestId, HistoryRequest>,
}

impl History {
    pub(crate) fn take(&mut self, id: RequestId) -> Option<HistoryRequest> {
        self.requests.remove(&id)
    }

    pub(crate) fn poll_timeout(&self) -> Option<Millis> {
        self.requests.values().map(|r| r.deadline).min()
    }

    /// Removes and returns the requests unanswered at `now`.
    fn take_expired(&mut self, now: Millis) -> Vec<HistoryRequest> {
        let expired: Vec<_> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        expired
            .into_iter()
            .filter_map(|id| self.requests.remove(&id))
            .collect()
    }
}

impl Engine {
    /// Asks for what is missing after the last contiguous seq, unless a request is under
    /// way or waiting to be retried.
    pub(super) fn ensure_backfill(&mut self, conversation: ConversationId) {
        let Some(state) = self.conversations.get(conversation) else {
            return;
        };
        if state.backfill.is_some() || state.backfill_retry_at.is_some() {
            return;
        }
        match state.contiguous {
            Some(contiguous) => self.request_history(conversation, HistoryKind::After(contiguous)),
            None if self.ctx.http_mode() && state.active => {
                self.request_history(conversation, HistoryKind::Latest)
            }
            None => {}
        }
    }

    pub(super) fn request_history(&mut self, conversation: ConversationId, kind: HistoryKind) {
        let limit = self.ctx.config.history_page_limit;
        let query = match kind {
            HistoryKind::After(seq) => text!("afterSeq=", seq, "&limit=", limit),
            HistoryKind::Before(seq) => text!("beforeSeq=", seq, "&limit=", limit),
            HistoryKind::Latest => text!("limit=", limit),
        };
        let url = self.ctx.config.api_url(&text!(
            "/api/conversations/",
            conversation,
            "/messages?",
            query
        ));
        let id = self.ctx.http("GET", url, self.link.bearer(), None);
        let deadline = self.ctx.now + self.ctx.config.request_timeout_ms;
        let request = HistoryRequest {
            conversation,
            kind,
            deadline,
        };
        self.history.requests.insert(id, request);
        if let Some(state) = self.conversations.get_mut(conversation) {
            match kind {
                HistoryKind::After(_) | HistoryKind::Latest => state.backfill = Some(id),
                HistoryKind::Before(_) => {
                    state.older = Some(id);
                    self.ctx.touch(conversation);
                }
            }
        }
    }

    /// The answer to a history request (any status).
    pub(super) fn on_history_response(&mut self, request: HistoryRequest, status: u16, body: &str) {
        let page = if status == 200 {
            json::history_page(body).ok_or_else(|| "history page unreadable".to_owned())
        } else {
            Err(text!("history request answered ", status))
        };
        match page {
            Ok(page) => self.on_history(request, page),
            // HTTP-only mode's join is a history request: 403 is a refused join.
            Err(_)
                if status == 403
                    && self.ctx.http_mode()
                    && !matches!(request.kind, HistoryKind::Before(_)) =>
            {
                if let Some(state) = self.conversations.get_mut(request.conversation) {
                    state.backfill = None;
                }
                let failure = AckFailure {
                    success: chat_wire::socket::False,
                    error: "not a participant".into(),
                    code: ErrorCode::Forbidden,
                    retry_after_ms: None,
                };
                self.on_join_refused(request.conversation, failure);
            }
            Err(reason) => self.history_failed(request, reason),
        }
    }

    fn on_history(&mut self, request: HistoryRequest, page: HistoryPage) {
        let conversation = request.conversation;
        let (mine, foreign): (Vec<_>, Vec<_>) = page
            .messages
            .into_iter()
            .partition(|m| m.conversation_id == conversation);
        if !foreign.is_empty() {
            self.ctx.warn(text!(
                foreign.len(),
                " messages of other conversations in a page ignored"
            ));
        }
        let Some(state) = self.conversations.get_mut(conversation) else {
            return;
        };
        match request.kind {
            HistoryKind::Before(_) => {
                state.older = None;
                state.timeline.widen(mine.len());
                state.timeline.has_older = page.has_more;
                self.ctx.touch(conversation);
                for message in mine {
                    self.on_message(message, false);
                }
                if let Some(state) = self.conversations.get_mut(conversation) {
                    // The page's own has_more has the last word on older messages.
                    state.timeline.has_older = page.has_more
                        || state.timeline.has_older
                            && state.timeline.oldest_seq().is_some_and(|s| s > 1);
                }
            }
            HistoryKind::Latest => {
                // HTTP-only mode's first look: like a first join, the newest page is the
                // history and everything after it is polled.
                let last = mine.iter().map(|m| m.seq).max().unwrap_or(0);
                state.backfill = None;
                state.timeline.has_older = page.has_more;
                for message in mine {
                    self.on_message(message, false);
                }
                let Some(state) = self.conversations.get_mut(conversation) else {
                    return;
                };
                state.contiguous = Some(last);
                state.max_seen = state.max_seen.max(last);
                if state.active {
                    state.sync = Sync::Synced;
                }
                self.ctx.touch(conversation);
                self.flush(conversation);
            }
            HistoryKind::After(after) => {
                let last = mine.iter().map(|m| m.seq).max();
                state.backfill = None;
                // In the HTTP-only mode polled pages are the live feed: the app hears of
                // each new message as it would of `message:new`.
                let live = self.ctx.http_mode() && state.active;
                for message in mine {
                    self.on_message(message, live);
                }
                let Some(state) = self.conversations.get_mut(conversation) else {
                    return;
                };
                // The server's pages are gapless: everything up to the page's end is seen.
                if let Some(last) = last
                    && state.contiguous.is_some_and(|c| c >= after)
                {
                    state.contiguous = Some(state.contiguous.unwrap_or(0).max(last));
                } else if last.is_none() && !page.has_more {
                    // Nothing after `after`: a seq seen beyond it does not exist on the
                    // server's side; stop chasing it instead of asking forever.
                    state.contiguous = Some(state.contiguous.unwrap_or(0).max(state.max_seen));
                }
                if state.backfill.is_none() && (page.has_more || state.behind()) {
                    self.ensure_backfill(conversation);
                } else if state.sync == Sync::Backfilling && state.backfill.is_none() {
                    state.sync = Sync::Synced;
                    self.ctx.touch(conversation);
                    self.flush(conversation);
                }
            }
        }
    }

    /// A history request failed: a catch-up is asked again after `request_retry_ms`; an
    /// older page waits for the app to ask again.
    pub(super) fn history_failed(&mut self, request: HistoryRequest, reason: String) {
        self.ctx.warn(reason);
        let retry_at = self.ctx.now + self.ctx.config.request_retry_ms;
        if let Some(state) = self.conversations.get_mut(request.conversation) {
            match request.kind {
                HistoryKind::After(_) | HistoryKind::Latest => {
                    state.backfill = None;
                    state.backfill_retry_at = Some(retry_at);
                }
                HistoryKind::Before(_) => {
                    state.older = None;
                    self.ctx.touch(request.conversation);
                }
            }
        }
    }

    pub(super) fn expire_requests(&mut self) {
        for request in self.history.take_expired(self.ctx.now) {
            self.history_failed(request, "history request timed out".into());
        }
    }
}
