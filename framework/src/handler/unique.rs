//! The compile-time duplicate-id check of `events![]`, as `const fn`s:
//! the message names the command id and both handlers, built without
//! allocation since it is evaluated by the compiler.

/// Room for the message: the id and two handler paths. A longer message
/// is cut, still naming the id.
const MESSAGE_CAPACITY: usize = 512;

/// The error `events![]` reports when two of its handlers share an id.
#[derive(Debug, Clone, Copy)]
pub struct DuplicateIdMessage {
    bytes: [u8; MESSAGE_CAPACITY],
    len: usize,
}

impl DuplicateIdMessage {
    const fn new() -> Self {
        DuplicateIdMessage { bytes: [0; MESSAGE_CAPACITY], len: 0 }
    }

    const fn push_str(mut self, text: &str) -> Self {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() && self.len < MESSAGE_CAPACITY {
            self.bytes[self.len] = text[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn push_id(mut self, id: i32) -> Self {
        if id < 0 {
            self = self.push_str("-");
        }
        let mut digits = [0u8; 10];
        let mut n = id.unsigned_abs();
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while count > 0 && self.len < MESSAGE_CAPACITY {
            count -= 1;
            self.bytes[self.len] = digits[count];
            self.len += 1;
        }
        self
    }

    /// The message as text (what the compiler prints).
    pub const fn as_str(&self) -> &str {
        let (text, _) = self.bytes.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => text,
            // Cut inside a character: too long to print whole anyway.
            Err(_) => "a command id is registered twice in this events![] list",
        }
    }
}

/// The message for `(id, name)` when an earlier handler of the list has
/// the same id; `None` when the id is free.
pub const fn duplicate_id(earlier: &[(i32, &str)], id: i32, name: &str) -> Option<DuplicateIdMessage> {
    let mut i = 0;
    while i < earlier.len() {
        let (other, first) = earlier[i];
        if other == id {
            let message = DuplicateIdMessage::new()
                .push_str("command id ")
                .push_id(id)
                .push_str(" is registered twice in this events![] list: by `")
                .push_str(first)
                .push_str("` and by `")
                .push_str(name)
                .push_str("`");
            return Some(message);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_id_and_both_handlers() {
        let earlier = [(1, "game::a"), (-100002, "game::auth::login")];
        assert!(duplicate_id(&earlier, 2, "game::b").is_none());
        let message = duplicate_id(&earlier, -100002, "game::shop::buy").unwrap();
        assert_eq!(
            message.as_str(),
            "command id -100002 is registered twice in this events![] list: \
             by `game::auth::login` and by `game::shop::buy`"
        );
        assert!(duplicate_id(&[(0, "a")], 0, "b").unwrap().as_str().starts_with("command id 0 is"));
    }

    #[test]
    fn a_message_too_long_is_cut() {
        let long = "m::".repeat(400);
        let message = duplicate_id(&[(7, &long)], 7, "x").unwrap();
        assert_eq!(message.as_str().len(), MESSAGE_CAPACITY);
        assert!(message.as_str().starts_with("command id 7 is registered twice"));
    }
}
