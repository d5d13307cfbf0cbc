use super::*;

#[test]
fn typing_goes_composing_paused_active() {
    let mut c = Conversation {
        draft: "h".into(),
        ..Default::default()
    };
    assert_eq!(
        typing_change(&mut c, true, 1.0),
        Some(TypingState::Composing)
    );
    c.draft = "hi".into();
    assert_eq!(typing_change(&mut c, true, 2.0), None, "told once");
    assert_eq!(typing_change(&mut c, false, 5.0), None);
    assert_eq!(
        typing_change(&mut c, false, 2.0 + TYPING_PAUSE_S),
        Some(TypingState::Paused)
    );
    c.draft = "hi!".into();
    assert_eq!(
        typing_change(&mut c, true, 20.0),
        Some(TypingState::Composing)
    );
    c.draft.clear();
    assert_eq!(typing_change(&mut c, true, 21.0), Some(TypingState::Active));
    assert_eq!(typing_change(&mut c, false, 40.0), None);
}
