//! The integrity check: every acknowledged message reached every participant's engine
//! exactly once, and each engine's seqs run from 1 with no gap.
//!
//! Counted as the engines report them: each client's event pump feeds the engine's
//! `Stored` events (one per message a timeline did not have, whatever brought it: live,
//! an ack, a catch-up page) into that client's [`Deliveries`], at O(1) a message. The
//! check then looks the acknowledged messages up there; it reads no timeline back.

use crate::fleet::Fleet;
use crate::report::Integrity;
use chat_wire::ConversationId;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// What one engine reported stored, by conversation.
#[derive(Debug, Default)]
pub struct Deliveries {
    conversations: HashMap<ConversationId, Tally>,
}

#[derive(Debug, Default)]
struct Tally {
    /// Index `seq - 1`: the seq was reported (each conversation starts empty, at seq 1).
    seen: Vec<bool>,
    /// Seqs reported, each counted once.
    distinct: usize,
    highest: i64,
    /// Reports of a seq, or of a clientMessageId, already reported.
    duplicates: usize,
    /// The seq each clientMessageId was first reported with.
    ids: HashMap<String, i64>,
}

impl Deliveries {
    /// The engine stored the message `seq` (sent as `client_message_id`) in `conversation`.
    pub fn record(
        &mut self,
        conversation: ConversationId,
        seq: i64,
        client_message_id: Option<&str>,
    ) {
        let tally = self.conversations.entry(conversation).or_default();
        // A seq below 1 never reaches a timeline (the engine drops it); one that did
        // would count as a duplicate here rather than index out of range.
        let again_seq = match usize::try_from(seq - 1) {
            Ok(index) => {
                if tally.seen.len() <= index {
                    tally.seen.resize(index + 1, false);
                }
                std::mem::replace(&mut tally.seen[index], true)
            }
            Err(_) => true,
        };
        let again_id = client_message_id.is_some_and(|id| {
            let first = tally.ids.entry(id.to_owned()).or_insert(seq);
            *first != seq
        });
        if again_seq || again_id {
            tally.duplicates += 1;
        }
        if !again_seq {
            tally.distinct += 1;
        }
        tally.highest = tally.highest.max(seq);
    }
}

/// Checks every participant's deliveries against the acknowledged messages.
pub fn integrity(fleet: &Fleet) -> Integrity {
    let acked = fleet.recorder.lock().acked.clone();
    let deliveries: Vec<_> = fleet.clients.iter().map(|c| c.deliveries()).collect();
    let views: Vec<&Deliveries> = deliveries.iter().map(|d| &**d).collect();
    Integrity {
        failed: fleet.recorder.failed.load(Ordering::Relaxed),
        ..check(&acked, &fleet.conversations, &views)
    }
}

/// The check itself: `acked` are (conversation, seq, clientMessageId) as the senders'
/// acks said, `conversations` who is in each (indexes into `deliveries`).
pub fn check(
    acked: &[(ConversationId, i64, String)],
    conversations: &[(ConversationId, Vec<usize>)],
    deliveries: &[&Deliveries],
) -> Integrity {
    let mut by_conversation: HashMap<ConversationId, Vec<(i64, &str)>> = HashMap::new();
    for (conversation, seq, id) in acked {
        by_conversation
            .entry(*conversation)
            .or_default()
            .push((*seq, id.as_str()));
    }
    let mut result = Integrity {
        acked: acked.len(),
        ..Integrity::default()
    };
    for (conversation, members) in conversations {
        let expected = by_conversation
            .get(conversation)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for &member in members {
            let Some(tally) = deliveries
                .get(member)
                .and_then(|d| d.conversations.get(conversation))
            else {
                result.losses += expected.len();
                continue;
            };
            result.duplicates += tally.duplicates;
            // A seq missing below the highest: a gap in that engine's timeline.
            if i64::try_from(tally.distinct).unwrap_or(i64::MAX) < tally.highest {
                result.order_errors += 1;
            }
            result.losses += expected
                .iter()
                .filter(|(seq, id)| tally.ids.get(*id) != Some(seq))
                .count();
        }
    }
    result
}
