//! The wire-level outcome of a request: a numeric code and a message.
//!
//! Codes follow HTTP's numbering so that game clients, which already see
//! `"code": 200` in obespoir-style replies, can read them without a table.
//! Applications add their own codes (for example 1000 and up) next to these.

use std::fmt;

/// A numeric status code carried in [`Envelope::status`](crate::wire::Envelope::status) and in
/// client error bodies.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(pub u32);

impl Code {
    /// Success. Envelopes carry 0 for success so that the common case costs
    /// no bytes on the wire; clients see 200.
    pub const OK: Code = Code(0);
    /// The request body is malformed (not JSON, missing fields, …).
    pub const BAD_REQUEST: Code = Code(400);
    /// The caller is not authenticated (for example: not logged in).
    pub const UNAUTHENTICATED: Code = Code(401);
    /// The caller may not do this.
    pub const FORBIDDEN: Code = Code(403);
    /// No handler serves this command id.
    pub const NOT_FOUND: Code = Code(404);
    /// The request did not complete before its deadline.
    pub const TIMEOUT: Code = Code(408);
    /// The request conflicts with the state it acts on (already done,
    /// already waiting).
    pub const CONFLICT: Code = Code(409);
    /// A limit was hit (rate, queue, concurrency): retry later.
    pub const OVERLOADED: Code = Code(429);
    /// The handler failed unexpectedly (including a panic).
    pub const INTERNAL: Code = Code(500);
    /// No live node can serve the request right now.
    pub const UNAVAILABLE: Code = Code(503);
    /// A frame was malformed or violated the protocol.
    pub const PROTOCOL: Code = Code(1002);

    /// The code as a number.
    pub fn as_u32(self) -> u32 {
        self.0
    }

    /// A short name for known codes, used in logs and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Code::OK => "ok",
            Code::BAD_REQUEST => "bad_request",
            Code::UNAUTHENTICATED => "unauthenticated",
            Code::FORBIDDEN => "forbidden",
            Code::NOT_FOUND => "not_found",
            Code::TIMEOUT => "timeout",
            Code::CONFLICT => "conflict",
            Code::OVERLOADED => "overloaded",
            Code::INTERNAL => "internal",
            Code::UNAVAILABLE => "unavailable",
            Code::PROTOCOL => "protocol",
            _ => "application",
        }
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({} {})", self.0, self.name())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An error outcome with a code and a human-readable message.
///
/// Boxed inside so that `Result<T, Status>` stays small on the happy path.
#[derive(Clone, PartialEq, Eq)]
pub struct Status(Box<StatusInner>);

#[derive(Clone, PartialEq, Eq)]
struct StatusInner {
    code: Code,
    message: String,
}

impl Status {
    /// A status with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Status(Box::new(StatusInner { code, message: message.into() }))
    }

    /// [`Code::BAD_REQUEST`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        Status::new(Code::BAD_REQUEST, message)
    }

    /// [`Code::NOT_FOUND`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Status::new(Code::NOT_FOUND, message)
    }

    /// [`Code::TIMEOUT`].
    pub fn timeout(message: impl Into<String>) -> Self {
        Status::new(Code::TIMEOUT, message)
    }

    /// [`Code::INTERNAL`].
    pub fn internal(message: impl Into<String>) -> Self {
        Status::new(Code::INTERNAL, message)
    }

    /// [`Code::UNAVAILABLE`].
    pub fn unavailable(message: impl Into<String>) -> Self {
        Status::new(Code::UNAVAILABLE, message)
    }

    /// [`Code::OVERLOADED`].
    pub fn overloaded(message: impl Into<String>) -> Self {
        Status::new(Code::OVERLOADED, message)
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Status").field("code", &self.code()).field("message", &self.message()).finish()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code(), self.code().name(), self.message())
    }
}

impl std::error::Error for Status {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keeps_code_and_message() {
        let s = Status::timeout("late");
        assert_eq!(s.code(), Code::TIMEOUT);
        assert_eq!(s.message(), "late");
        assert_eq!(s.to_string(), "408 (timeout): late");
        assert_eq!(Code(1234).name(), "application");
    }

    #[test]
    fn status_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Status>(), std::mem::size_of::<usize>());
    }
}
