//! What every part of the engine shares, passed to them as `&mut Ctx` (as quinn-proto's
//! parts get the connection's shared state): the clock, the config, the seeded RNG, the
//! output queue, the acks awaited, request ids, and the conversations whose view must be
//! rebuilt at the next publish.

use chat_wire::{ConversationId, event};
use std::collections::VecDeque;

use super::output::{Event, HttpRequest, Output};
use crate::config::Config;
use crate::ids::{ClientMessageId, RequestId, SocketId};
use crate::json::Value;
use crate::protocol::{self, AckId};
use crate::time::Millis;
use crate::vecmap::{VecMap, VecSet};

#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) config: Config,
    /// Every random choice (jitter, client message ids): one seed, one run.
    pub(crate) rng: fastrand::Rng,
    /// The latest time an input brought (never goes back).
    pub(crate) now: Millis,
    outputs: VecDeque<Output>,
    /// Who waits for each ack id: Socket.IO acks, and the HTTP-only mode's `POST`s (so a
    /// late answer to an older try is told apart from the current one).
    pub(crate) acks: VecMap<AckId, AckWait>,
    next_ack: u64,
    next_request: u64,
    /// Conversations whose view must be rebuilt.
    pub(crate) dirty: VecSet<ConversationId>,
}

/// What an ack id answers.
#[derive(Clone, Debug)]
pub(crate) enum AckWait {
    Join(ConversationId),
    Leave,
    Send(ClientMessageId),
    Read,
    ReadConversation(ConversationId),
}

impl Ctx {
    pub(crate) fn new(config: Config, seed: u64) -> Self {
        Ctx {
            config,
            rng: fastrand::Rng::with_seed(seed),
            now: Millis(0),
            outputs: VecDeque::new(),
            acks: VecMap::new(),
            next_ack: 0,
            next_request: 0,
            dirty: VecSet::new(),
        }
    }

    pub(crate) fn tick(&mut self, now: Millis) {
        self.now = self.now.max(now);
    }

    /// The HTTP-only mode: requests instead of a socket (`transport: "http"`).
    pub(crate) fn http_mode(&self) -> bool {
        self.config.http_poll_ms.is_some()
    }

    pub(crate) fn pop_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    pub(crate) fn output(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    /// Something from the network was ignored or ended the connection; for the log.
    pub(crate) fn warn(&mut self, reason: String) {
        self.event(Event::Warning(reason));
    }

    pub(crate) fn frame(&mut self, socket: SocketId, text: String) {
        self.outputs.push_back(Output::SendFrame { socket, text });
    }

    /// Emits the event `name` on `socket`, with `ack` if an answer is awaited.
    pub(crate) fn emit(
        &mut self,
        socket: SocketId,
        ack: Option<AckId>,
        name: &str,
        args: Vec<Value>,
    ) {
        self.frame(socket, protocol::encode_event(ack, name, args));
    }

    /// `conversation:join` on `socket`; the ack id the conversation waits on.
    pub(crate) fn emit_join(&mut self, socket: SocketId, conversation: ConversationId) -> AckId {
        let ack = self.register_ack(AckWait::Join(conversation));
        let args = vec![conversation.0.into()];
        self.emit(socket, Some(ack), event::CONVERSATION_JOIN, args);
        ack
    }

    pub(crate) fn register_ack(&mut self, wait: AckWait) -> AckId {
        let id = AckId(self.next_ack);
        self.next_ack += 1;
        self.acks.insert(id, wait);
        id
    }

    /// Queues an HTTP request to `url`; its id, for the answer.
    pub(crate) fn http(
        &mut self,
        method: &'static str,
        url: String,
        bearer: Option<String>,
        body: Option<String>,
    ) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.outputs.push_back(Output::Http(HttpRequest {
            id,
            method,
            url,
            bearer,
            body,
        }));
        id
    }

    pub(crate) fn touch(&mut self, conversation: ConversationId) {
        self.dirty.insert(conversation);
    }
}
