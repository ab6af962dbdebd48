//! The one home of how an outcome travels in a response envelope, both
//! ways: a handler's result into `status`/`message`/`payload`, and back
//! into the caller's `Result`; and how a failed send reads as a status.

use bytes::Bytes;

use crate::proto::Envelope;
use crate::status::{Code, Status};
use crate::transport::SendError;

/// Status code of a response that carries nothing for the client: the
/// handler ran with `need_return = false`. The proxy completes the request
/// and writes nothing.
pub(crate) const NO_REPLY: Code = Code(204);

/// Writes `result` into a response envelope. An error's code is never 0,
/// which means success on the wire.
pub(crate) fn encode(env: &mut Envelope, result: Result<Option<Bytes>, Status>) {
    match result {
        Ok(Some(body)) => env.payload = body,
        Ok(None) => env.status = NO_REPLY.as_u32(),
        Err(status) => {
            env.status = status.code().as_u32().max(1);
            env.message = status.message().to_owned();
        }
    }
}

/// Turns a response envelope into the caller-facing result.
pub(crate) fn decode(response: &Envelope) -> Result<Bytes, Status> {
    if response.status == 0 || response.status == NO_REPLY.as_u32() {
        Ok(response.payload.clone())
    } else {
        Err(Status::new(Code(response.status), response.message.clone()))
    }
}

impl From<SendError> for Status {
    fn from(err: SendError) -> Status {
        match err {
            SendError::QueueFull => Status::overloaded(err.to_string()),
            SendError::TooLarge => Status::bad_request(err.to_string()),
            SendError::Closed | SendError::NoLink => Status::unavailable(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_survive_the_trip_through_an_envelope() {
        let mut env = Envelope::default();
        encode(&mut env, Ok(Some(Bytes::from_static(b"hi"))));
        assert_eq!(decode(&env).unwrap(), "hi");
        let mut env = Envelope::default();
        encode(&mut env, Ok(None));
        assert_eq!((env.status, decode(&env).unwrap().len()), (204, 0));
        let mut env = Envelope::default();
        encode(&mut env, Err(Status::new(Code(0), "odd")));
        assert_eq!(env.status, 1, "an error never reads as success");
        let mut env = Envelope::default();
        encode(&mut env, Err(Status::overloaded("busy")));
        let err = decode(&env).unwrap_err();
        assert_eq!((err.code(), err.message()), (Code::OVERLOADED, "busy"));
    }
}
