//! The HTTP-only mode (`transport: "http"`, the rollback when WebSockets are blocked):
//! history is polled every `http_poll_ms` instead of pushed, and sends are `POST`s whose
//! answers are read as the matching Socket.IO acks would be. Typing and read receipts
//! have no REST route and are not sent.

use crate::text;
use chat_wire::socket::{AckFailure, SendAck};
use chat_wire::{ConversationId, ErrorCode};

use super::ctx::{AckWait, Ctx};
use crate::ids::{ClientMessageId, RequestId};
use crate::json;
use crate::protocol::AckId;
use crate::time::Millis;
use crate::vecmap::VecMap;

#[derive(Debug, Default)]
pub(crate) struct HttpMode {
    /// When history is polled next (while the mode's "connection" is up).
    next_poll: Option<Millis>,
    /// Sends in flight, by request, with the ack id their outbox entry waits on.
    sends: VecMap<RequestId, (AckId, ClientMessageId)>,
}

/// What the answer to a `POST`ed message means.
#[derive(Debug)]
pub(crate) enum PostAnswer {
    /// Stored (201, or 200 for a repeat): as a successful send ack.
    Stored(SendAck),
    /// A success without a readable message: the try is lost.
    Unreadable,
    /// 401: the token is no good.
    Unauthorized,
    /// Refused, as a failed send ack would be.
    Refused(AckFailure),
}

impl HttpMode {
    /// The mode's "connection" is up: polling starts.
    pub(crate) fn start(&mut self, ctx: &Ctx) {
        self.next_poll = ctx.config.http_poll_ms.map(|ms| ctx.now + ms);
    }

    /// The connection is lost: no polling, and the sends in flight are forgotten (the
    /// outbox queues them again).
    pub(crate) fn stop(&mut self) {
        self.next_poll = None;
        self.sends.clear();
    }

    pub(crate) fn poll_timeout(&self) -> Option<Millis> {
        self.next_poll
    }

    /// True when it is time to poll (and the next poll is then scheduled).
    pub(crate) fn poll_due(&mut self, ctx: &Ctx, link_up: bool) -> bool {
        let (Some(ms), Some(at)) = (ctx.config.http_poll_ms, self.next_poll) else {
            return false;
        };
        if at > ctx.now || !link_up {
            return false;
        }
        self.next_poll = Some(ctx.now + ms);
        true
    }

    /// Sends `text` as `POST /api/conversations/:id/messages` (the server's idempotency on
    /// `clientMessageId` makes a repeated try safe); the ack id the try waits on.
    pub(crate) fn post(
        &mut self,
        ctx: &mut Ctx,
        bearer: Option<String>,
        id: &ClientMessageId,
        conversation: ConversationId,
        text: &str,
    ) -> AckId {
        let body = json::send_message(id.as_str(), text);
        let url = ctx
            .config
            .api_url(&text!("/api/conversations/", conversation, "/messages"));
        let ack = ctx.register_ack(AckWait::Send(id.clone()));
        let request = ctx.http("POST", url, bearer, Some(json::write(&body)));
        self.sends.insert(request, (ack, id.clone()));
        ack
    }

    /// The send `request` answers, if it is one.
    pub(crate) fn take_send(&mut self, request: RequestId) -> Option<(AckId, ClientMessageId)> {
        self.sends.remove(&request)
    }

    /// Reads the answer to a `POST`ed message.
    pub(crate) fn answer(status: u16, body: &str) -> PostAnswer {
        if status == 200 || status == 201 {
            return match json::parse(body).as_ref().and_then(json::message) {
                Some(message) => PostAnswer::Stored(SendAck {
                    success: chat_wire::socket::True,
                    message_id: message.id,
                    seq: message.seq,
                    created_at: message.created_at,
                }),
                None => PostAnswer::Unreadable,
            };
        }
        if status == 401 {
            return PostAnswer::Unauthorized;
        }
        let error = json::api_error(body);
        let code = match (status, &error) {
            (_, Some(error)) => error.error.code,
            (429, None) => ErrorCode::RateLimited,
            (503, None) => ErrorCode::Unavailable,
            (403, None) => ErrorCode::Forbidden,
            (400, None) => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        };
        PostAnswer::Refused(AckFailure {
            success: chat_wire::socket::False,
            error: error.map(|e| e.error.message).unwrap_or_default(),
            code,
            retry_after_ms: json::api_retry_after(body),
        })
    }
}
