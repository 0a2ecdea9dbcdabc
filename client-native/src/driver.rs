//! The run loop: the engine's crate-doc recipe on tokio.

use crate::socket::{self, SocketEvent, SocketHandle};
use chat_engine::{
    ClientMessageId, Config, ConversationView, Engine, Event, HttpRequest, Millis, Output,
    RequestId, SendError, Snapshot, SocketId, StorageError,
};
use chat_wire::{ConversationId, MessageId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

/// Gives the engine a token on every connect (`None`: there is none, the engine reports
/// an auth error).
pub type TokenSource = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// How to build a [`NativeClient`].
#[derive(Clone)]
pub struct ClientOptions {
    pub config: Config,
    /// Seeds the engine's RNG (jitter, clientMessageIds): one seed, one run.
    pub seed: u64,
    pub token: TokenSource,
    /// The HTTP client for the engine's REST calls. Each [`ClientOptions::new`] makes one
    /// (its own connection pool, as an app has); many engines in one process (the load
    /// tool) share one, so that they share its connections: 10,000 engines with a pool
    /// each hold 10,000 idle connections and as many file descriptors.
    pub http: reqwest::Client,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("config", &self.config)
            .field("seed", &self.seed)
            .finish()
    }
}

impl ClientOptions {
    /// The engine's default configuration for the server at `url`, a random seed.
    pub fn new(
        url: impl Into<String>,
        token: impl Fn() -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        ClientOptions {
            config: Config::new(url),
            seed: random_seed(),
            token: Arc::new(token),
            http: reqwest::Client::new(),
        }
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS: enough for a jitter and UUID seed.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

/// A client engine driven by a tokio task. Commands take effect at once (the snapshot is
/// current when they return); their outputs are carried out by the task. Dropping the
/// client stops the task and closes its socket.
#[derive(Debug)]
pub struct NativeClient {
    shared: Arc<Shared>,
    control: mpsc::UnboundedSender<Control>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    engine: Mutex<Engine>,
    /// A command ran: the loop must drain outputs and re-arm its timer.
    wake: Notify,
    origin: Instant,
}

impl Shared {
    fn now(&self) -> Millis {
        Millis(u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn engine(&self) -> MutexGuard<'_, Engine> {
        // The lock is only held for synchronous engine calls, which do not panic on any
        // input; a poisoned lock would mean a bug, and the engine is still consistent
        // between calls, so keep going.
        self.engine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Messages to the run loop that are not engine commands.
#[derive(Debug)]
enum Control {
    /// Break the current connection as a network failure would (tests, reconnect storms).
    DropConnection,
    Http(RequestId, Result<(u16, String), ()>),
}

impl NativeClient {
    /// Starts the run loop; the receiver gets the engine's events for the app.
    pub fn spawn(options: ClientOptions) -> (NativeClient, mpsc::UnboundedReceiver<Event>) {
        let shared = Arc::new(Shared {
            engine: Mutex::new(Engine::new(options.config, options.seed)),
            wake: Notify::new(),
            origin: Instant::now(),
        });
        let (control, control_rx) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let run_loop = RunLoop {
            shared: shared.clone(),
            token: options.token,
            control: control.clone(),
            events,
            sockets: HashMap::new(),
            http: options.http,
        };
        let task = tokio::spawn(run_loop.run(control_rx));
        (
            NativeClient {
                shared,
                control,
                task,
            },
            events_rx,
        )
    }

    fn command<R>(&self, f: impl FnOnce(&mut Engine, Millis) -> R) -> R {
        let now = self.shared.now();
        let result = f(&mut self.shared.engine(), now);
        self.shared.wake.notify_one();
        result
    }

    pub fn connect(&self) {
        self.command(|engine, now| engine.connect(now));
    }

    pub fn disconnect(&self) {
        self.command(|engine, now| engine.disconnect(now));
    }

    pub fn join(&self, conversation: ConversationId) {
        self.command(|engine, now| engine.join(now, conversation));
    }

    pub fn leave(&self, conversation: ConversationId) {
        self.command(|engine, now| engine.leave(now, conversation));
    }

    /// Queues a message; its `clientMessageId` at once.
    pub fn send(
        &self,
        conversation: ConversationId,
        text: &str,
    ) -> Result<ClientMessageId, SendError> {
        self.command(|engine, now| engine.send(now, conversation, text))
    }

    /// Restores an outbox the app stored from [`Engine::save_outbox`] on
    /// [`Event::OutboxChanged`], as an app does when it starts again (before `connect`);
    /// how many messages it holds.
    pub fn restore_outbox(&self, stored: &str) -> Result<usize, StorageError> {
        self.command(|engine, now| engine.restore_outbox(now, stored))
    }

    /// Tries a `failed` message again; `false` if there is no such failed message.
    pub fn retry(&self, id: &ClientMessageId) -> bool {
        self.command(|engine, now| engine.retry(now, id))
    }

    pub fn typing(&self, conversation: ConversationId) {
        self.command(|engine, now| engine.typing(now, conversation));
    }

    pub fn mark_read(&self, message: MessageId) {
        self.command(|engine, now| engine.mark_read(now, message));
    }

    pub fn load_older(&self, conversation: ConversationId) -> bool {
        self.command(|engine, now| engine.load_older(now, conversation))
    }

    /// Breaks the current connection as a network failure would; the engine reconnects
    /// after its backoff.
    pub fn drop_connection(&self) {
        let _ = self.control.send(Control::DropConnection);
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.engine().snapshot()
    }

    pub fn conversation(&self, id: ConversationId) -> Option<Arc<ConversationView>> {
        self.shared.engine().conversation(id)
    }

    /// Runs `f` on the engine (for reads the other methods do not offer).
    pub fn inspect<R>(&self, f: impl FnOnce(&Engine) -> R) -> R {
        f(&self.shared.engine())
    }
}

impl Drop for NativeClient {
    fn drop(&mut self) {
        // Aborting drops the loop's socket handles, which closes their sockets.
        self.task.abort();
    }
}

struct RunLoop {
    shared: Arc<Shared>,
    token: TokenSource,
    control: mpsc::UnboundedSender<Control>,
    events: mpsc::UnboundedSender<Event>,
    sockets: HashMap<SocketId, SocketHandle>,
    http: reqwest::Client,
}

impl RunLoop {
    async fn run(mut self, mut control: mpsc::UnboundedReceiver<Control>) {
        let (socket_events, mut socket_rx) = mpsc::unbounded_channel();
        loop {
            self.drain(&socket_events);
            let deadline = self.shared.engine().poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => {
                        let wait = at.since(self.shared.now());
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => {
                    let now = self.shared.now();
                    self.shared.engine().handle_timeout(now);
                }
                () = self.shared.wake.notified() => {}
                Some(event) = socket_rx.recv() => self.socket_event(event),
                Some(message) = control.recv() => self.control(message),
            }
        }
    }

    /// Carries out every output the engine has (step 2 of the run loop).
    fn drain(&mut self, socket_events: &mpsc::UnboundedSender<SocketEvent>) {
        loop {
            let Some(output) = self.shared.engine().poll_output() else {
                return;
            };
            match output {
                Output::OpenSocket { socket, url } => {
                    let handle = socket::open(socket, url, socket_events.clone());
                    self.sockets.insert(socket, handle);
                }
                Output::SendFrame { socket, text } => {
                    if let Some(handle) = self.sockets.get(&socket) {
                        let _ = handle.frames.send(text);
                    }
                }
                Output::CloseSocket { socket } => {
                    self.sockets.remove(&socket);
                }
                Output::RequestToken => {
                    let token = (self.token)();
                    let now = self.shared.now();
                    self.shared.engine().handle_token(now, token);
                }
                Output::Http(request) => self.http(request),
                Output::Event(event) => {
                    // The app may have stopped listening; the engine goes on regardless.
                    let _ = self.events.send(event);
                }
            }
        }
    }

    fn socket_event(&mut self, event: SocketEvent) {
        let now = self.shared.now();
        let mut engine = self.shared.engine();
        match event {
            SocketEvent::Opened(socket) => engine.handle_socket_open(now, socket),
            SocketEvent::Frame(socket, text) => engine.handle_frame(now, socket, &text),
            SocketEvent::Closed(socket) => {
                self.sockets.remove(&socket);
                engine.handle_socket_closed(now, socket);
            }
        }
    }

    fn control(&mut self, message: Control) {
        let now = self.shared.now();
        match message {
            Control::DropConnection => {
                for (socket, handle) in self.sockets.drain() {
                    handle.task.abort();
                    self.shared.engine().handle_socket_closed(now, socket);
                }
            }
            Control::Http(id, Ok((status, body))) => {
                self.shared
                    .engine()
                    .handle_http_response(now, id, status, &body);
            }
            Control::Http(id, Err(())) => self.shared.engine().handle_http_failed(now, id),
        }
    }

    fn http(&self, request: HttpRequest) {
        let mut builder = match request.method {
            "POST" => self.http.post(&request.url),
            _ => self.http.get(&request.url),
        };
        if let Some(token) = &request.bearer {
            builder = builder.bearer_auth(token);
        }
        let control = self.control.clone();
        tokio::spawn(async move {
            let result = async {
                let response = builder.send().await.map_err(|_| ())?;
                let status = response.status().as_u16();
                let body = response.text().await.map_err(|_| ())?;
                Ok((status, body))
            }
            .await;
            let _ = control.send(Control::Http(request.id, result));
        });
    }
}
