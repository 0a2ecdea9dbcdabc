//! The integrity check on deliveries as engines report them: a lost, doubled or skipped
//! message fails it, and a run where every engine stored every message once passes.
#![allow(clippy::unwrap_used)]

use chat_load::verify::{Deliveries, check};
use chat_wire::ConversationId;

const ROOM: ConversationId = ConversationId(3);
const OTHER_ROOM: ConversationId = ConversationId(4);

/// Three acked messages in `ROOM` (seqs 1 to 3), where clients 0 and 1 are members.
fn acked() -> Vec<(ConversationId, i64, String)> {
    (1..=3)
        .map(|seq| (ROOM, seq, format!("id-{seq}")))
        .collect()
}

fn conversations() -> Vec<(ConversationId, Vec<usize>)> {
    vec![(ROOM, vec![0, 1]), (OTHER_ROOM, vec![1])]
}

/// Client deliveries of `ROOM`'s seqs, in the order given.
fn delivered(seqs: &[i64]) -> Deliveries {
    let mut deliveries = Deliveries::default();
    for &seq in seqs {
        deliveries.record(ROOM, seq, Some(&format!("id-{seq}")));
    }
    deliveries
}

#[test]
fn every_message_stored_once_by_every_member_passes_in_any_order() {
    let (first, second) = (delivered(&[1, 2, 3]), delivered(&[3, 1, 2]));
    let integrity = check(&acked(), &conversations(), &[&first, &second]);
    assert!(integrity.ok(), "{integrity:?}");
    assert_eq!(integrity.acked, 3);
}

#[test]
fn a_message_one_member_never_stored_is_a_loss_and_a_gap() {
    let (first, second) = (delivered(&[1, 2, 3]), delivered(&[1, 3]));
    let integrity = check(&acked(), &conversations(), &[&first, &second]);
    assert_eq!(integrity.losses, 1);
    assert_eq!(integrity.order_errors, 1);
    assert!(!integrity.ok());
}

#[test]
fn the_newest_message_missing_is_a_loss_without_a_gap() {
    let (first, second) = (delivered(&[1, 2, 3]), delivered(&[1, 2]));
    let integrity = check(&acked(), &conversations(), &[&first, &second]);
    assert_eq!((integrity.losses, integrity.order_errors), (1, 0));
}

#[test]
fn a_member_that_stored_nothing_lost_everything() {
    let first = delivered(&[1, 2, 3]);
    let integrity = check(
        &acked(),
        &conversations(),
        &[&first, &Deliveries::default()],
    );
    assert_eq!(integrity.losses, 3);
}

#[test]
fn a_message_stored_twice_is_a_duplicate() {
    let (first, second) = (delivered(&[1, 2, 3]), delivered(&[1, 2, 2, 3]));
    let integrity = check(&acked(), &conversations(), &[&first, &second]);
    assert_eq!(integrity.duplicates, 1);
    assert_eq!(integrity.losses, 0);
    assert!(!integrity.ok());
}

#[test]
fn one_client_message_stored_under_two_seqs_is_a_duplicate() {
    let first = delivered(&[1, 2, 3]);
    let mut second = delivered(&[1, 2, 3]);
    second.record(ROOM, 4, Some("id-2"));
    let integrity = check(&acked(), &conversations(), &[&first, &second]);
    assert_eq!(integrity.duplicates, 1);
}

#[test]
fn a_message_stored_under_another_seq_than_acked_is_a_loss() {
    let first = delivered(&[1, 2, 3]);
    let mut second = Deliveries::default();
    second.record(ROOM, 1, Some("id-1"));
    second.record(ROOM, 2, Some("id-3"));
    second.record(ROOM, 3, Some("id-2"));
    let integrity = check(&acked(), &conversations(), &[&first, &second]);
    assert_eq!(integrity.losses, 2);
}
