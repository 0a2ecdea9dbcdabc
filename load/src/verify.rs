//! The end-of-run check: every acknowledged message is in every participant's timeline
//! exactly once, in seq order, with no gap.

use crate::fleet::Fleet;
use crate::report::Integrity;
use chat_wire::ConversationId;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

/// Checks every participant's timeline against the acknowledged messages.
pub fn integrity(fleet: &Fleet) -> Integrity {
    let recorded = fleet.recorder.lock();
    let mut acked: HashMap<ConversationId, Vec<(i64, &str)>> = HashMap::new();
    for (conversation, seq, id) in &recorded.acked {
        acked
            .entry(*conversation)
            .or_default()
            .push((*seq, id.as_str()));
    }
    let mut result = Integrity {
        acked: recorded.acked.len(),
        failed: fleet.recorder.failed.load(Ordering::Relaxed),
        ..Integrity::default()
    };
    for (conversation, members) in &fleet.conversations {
        let expected = acked.get(conversation).map(Vec::as_slice).unwrap_or(&[]);
        for &member in members {
            let Some(view) = fleet.clients[member].client.conversation(*conversation) else {
                result.losses += expected.len();
                continue;
            };
            let stored: Vec<(i64, Option<&str>)> = view
                .messages
                .iter()
                .filter_map(|m| m.seq.map(|seq| (seq, m.client_message_id.as_deref())))
                .collect();
            let mut seen_seqs = HashSet::new();
            let mut seen_ids = HashSet::new();
            for (seq, id) in &stored {
                let first_seq = seen_seqs.insert(*seq);
                let first_id = id.is_none_or(|id| seen_ids.insert(id));
                if !first_seq || !first_id {
                    result.duplicates += 1;
                }
            }
            // In order, starting at 1, with no gap (each conversation starts empty).
            result.order_errors += stored
                .iter()
                .enumerate()
                .filter(|(index, (seq, _))| *seq != *index as i64 + 1)
                .count()
                .min(1);
            let held: HashSet<(i64, &str)> = stored
                .iter()
                .filter_map(|(seq, id)| id.map(|id| (*seq, id)))
                .collect();
            result.losses += expected
                .iter()
                .filter(|entry| !held.contains(entry))
                .count();
        }
    }
    result
}
