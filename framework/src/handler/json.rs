//! JSON bodies: request decoding, reply encoding, error bodies.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::status::{Code, Status};

/// Decodes a request body. An empty body reads as `{}` (obespoir clients
/// send empty bodies for heartbeats), or as `null` for types that want it.
///
/// # Errors
/// `BAD_REQUEST` with serde's explanation (missing field, wrong type…).
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Status> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(b"{}")
            .or_else(|_| serde_json::from_slice(b"null"))
            .map_err(|e| Status::bad_request(format!("empty body: {e}")));
    }
    serde_json::from_slice(body).map_err(|e| Status::bad_request(format!("invalid request body: {e}")))
}

/// Encodes a reply body as JSON.
///
/// # Errors
/// `INTERNAL` if the value cannot be serialised (for example a map with
/// non-string keys).
pub fn encode_body<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, Status> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| Status::internal(format!("reply not serialisable: {e}")))
}

/// The body of an error frame sent to a client:
/// `{"code": <code>, "msg": "<message>"}`, with the request's command id.
pub fn error_body(status: &Status) -> Bytes {
    #[derive(Serialize)]
    struct ErrorBody<'a> {
        code: u32,
        msg: &'a str,
    }
    let code = if status.code() == Code::OK { Code::INTERNAL } else { status.code() };
    // A struct of a number and a string always serialises.
    serde_json::to_vec(&ErrorBody { code: code.as_u32(), msg: status.message() })
        .map(Bytes::from)
        .unwrap_or_default()
}

/// What a handler function may return: `Result<T, E>` with a serialisable
/// `T` and an error convertible into [`Status`], or `()`.
pub trait IntoReply {
    /// Converts into the encoded reply (`None`: nothing to send).
    ///
    /// # Errors
    /// The handler's error, or an encoding failure.
    fn into_reply(self, need_return: bool) -> Result<Option<Bytes>, Status>;
}

impl<T: Serialize, E: Into<Status>> IntoReply for Result<T, E> {
    fn into_reply(self, need_return: bool) -> Result<Option<Bytes>, Status> {
        let value = self.map_err(Into::into)?;
        if need_return { encode_body(&value).map(Some) } else { Ok(None) }
    }
}

impl IntoReply for () {
    fn into_reply(self, _need_return: bool) -> Result<Option<Bytes>, Status> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Login {
        name: String,
        passwd: String,
    }

    #[test]
    fn decodes_typed_bodies_and_explains_failures() {
        let ok: Login = decode_body(br#"{"name":"jamon","passwd":"test"}"#).unwrap();
        assert_eq!(ok.name, "jamon");
        let err = decode_body::<Login>(br#"{"name":"jamon"}"#).unwrap_err();
        assert_eq!(err.code(), Code::BAD_REQUEST);
        assert!(err.message().contains("passwd"), "{}", err.message());
        assert_eq!(decode_body::<Login>(b"\xff\xfe").unwrap_err().code(), Code::BAD_REQUEST);
    }

    #[test]
    fn empty_bodies_read_as_empty_object_or_null() {
        let v: serde_json::Value = decode_body(b"").unwrap();
        assert_eq!(v, serde_json::json!({}));
        let unit: () = decode_body(b"  ").unwrap();
        assert_eq!(unit, ());
    }

    #[test]
    fn error_bodies_carry_code_and_message() {
        let body = error_body(&Status::timeout("too slow"));
        assert_eq!(&body[..], br#"{"code":408,"msg":"too slow"}"#);
    }

    #[test]
    fn replies_encode_or_stay_silent() {
        let r: Result<_, Status> = Ok(serde_json::json!({"code": 200}));
        assert_eq!(r.clone().into_reply(true).unwrap().unwrap(), Bytes::from_static(br#"{"code":200}"#));
        assert_eq!(r.into_reply(false).unwrap(), None);
        let e: Result<(), Status> = Err(Status::not_found("x"));
        assert_eq!(e.into_reply(true).unwrap_err().code(), Code::NOT_FOUND);
    }
}
