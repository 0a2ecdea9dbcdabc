//! Every refusal of the bindings, in one list: its number (the enum's discriminant, which
//! the wasm throws), its `code` and its message template.
//!
//! The wasm throws a refusal as its number alone (`From<WebError> for JsValue`, in
//! `web/error.rs`); the JS package turns the number into a `ChatEngineError` with the
//! code and a message naming the bad value. The templates are read only by the native
//! generator ([`crate::ts`]), which renders them into js/client/src/generated/bindings.ts:
//! on wasm32 the macro drops them, so no text costs wasm (format strings and value
//! descriptions took ~3 KB gzipped, docs/CLIENT.md "Size").
//!
//! Placeholders in a template, rendered through `describe` (its type, or a short string
//! or number) in js/client/src/errors.ts:
//!
//! - `{a}`, `{b}`: the call's first or second argument (for `new ChatEngine`, `a` is the
//!   options object);
//! - `{options.NAME}`: the option `NAME`;
//! - `{options.NAME:trimmed}`: the option as a trimmed string, not described;
//! - `{b:first_bad_id}`: the first element of the array `b` that is not a positive integer.

/// Declares [`WebError`] and, natively, [`REFUSALS`] from one list.
macro_rules! refusals {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $(= $number:literal)? => $code:literal, $template:literal;
    )*) => {
        /// Why a call into the engine was refused. Thrown to JS as its number; the JS
        /// package's table (generated from [`REFUSALS`]) gives its code and message.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum WebError {
            $($(#[doc = $doc])* $variant $(= $number)?,)*
        }

        impl WebError {
            /// The `code` of the `ChatEngineError` the JS package throws for this refusal.
            pub fn code(self) -> &'static str {
                match self {
                    $(WebError::$variant => $code,)*
                }
            }
        }

        /// Every refusal in number order, with its texts (native only: see the module doc).
        #[cfg(not(target_arch = "wasm32"))]
        pub const REFUSALS: &[Refusal] = &[$(Refusal {
            error: WebError::$variant,
            name: stringify!($variant),
            template: $template,
        },)*];
    };
}

/// One refusal as the generator reads it.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug)]
pub struct Refusal {
    pub error: WebError,
    /// The variant's name (`Refusal.<name>` in the TypeScript).
    pub name: &'static str,
    /// The message, with the placeholders of the module doc.
    pub template: &'static str,
}

refusals! {
    // The options of `new ChatEngine`.
    OptionsNotObject = 1 => "invalid_options",
        "createChatEngine: options must be an object like { url, getToken, storage }";
    Url => "invalid_options", "createChatEngine: `url` must be the server's URL as a string";
    UrlScheme => "invalid_options",
        "createChatEngine: `url` must start with http:// or https:// (got \"{options.url:trimmed}\")";
    GetToken => "invalid_options",
        "createChatEngine: `getToken` must be a function returning a token (or a Promise of one)";
    Storage => "invalid_options",
        "createChatEngine: `storage` must be \"local\", \"memory\" or an object with getItem, setItem and removeItem functions (got {options.storage})";
    Transport => "invalid_options",
        "createChatEngine: `transport` must be \"websocket\" or \"http\" (got {options.transport})";
    UserId => "invalid_options",
        "createChatEngine: `userId` must be a positive integer (got {options.userId})";
    PollInterval => "invalid_options",
        "createChatEngine: `pollIntervalMs` must be a number of milliseconds from 50 to 3600000 (got {options.pollIntervalMs})";
    // A method's argument (the parameter types of crate::commands).
    ConversationId => "invalid_argument", "a conversation id must be a positive integer (got {a})";
    MessageId => "invalid_argument", "a message id must be a positive integer (got {a})";
    UserIds => "invalid_argument", "user ids must be an array of positive integers (got {b})";
    UserIdsItem => "invalid_argument", "a user id must be a positive integer (got {b:first_bad_id})";
    Text => "invalid_argument", "the message text must be a string (got {b})";
    Token => "invalid_argument", "a token must be a non-empty string (got {a})";
    ClientMessageId => "invalid_argument", "a clientMessageId must be a UUID string (got {a})";
    Subscriber => "invalid_argument", "a subscriber must be a function";
    EventListener => "invalid_argument", "an event listener must be a function";
    Online => "invalid_argument", "setOnline takes a boolean (got {a})";
    // `send` refused the text (chat_wire::text::TextError).
    TextEmpty => "invalid_text", "the message cannot be sent: text must not be empty";
    TextTooLong => "invalid_text", "the message cannot be sent: text is longer than 1000 characters or 4096 bytes";
    TextControlCharacter => "invalid_text", "the message cannot be sent: text contains control characters";
    /// Any call but `getSnapshot`/`getConversation` after `destroy`.
    Destroyed => "destroyed", "the chat engine was destroyed";
}

impl From<chat_wire::text::TextError> for WebError {
    fn from(error: chat_wire::text::TextError) -> WebError {
        match error {
            chat_wire::text::TextError::Empty => WebError::TextEmpty,
            chat_wire::text::TextError::TooLong => WebError::TextTooLong,
            chat_wire::text::TextError::ControlCharacter => WebError::TextControlCharacter,
        }
    }
}
