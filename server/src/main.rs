//! `chat-server`: placeholder until the REST and Socket.IO issues land.
fn main() {}
