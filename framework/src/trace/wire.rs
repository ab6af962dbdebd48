//! The envelope's trace context and OpenTelemetry's, both ways. Pure.
//!
//! The envelope carries the W3C `traceparent` fields in binary (fixed-size,
//! so decoding one allocates nothing) and `tracestate` as text.

use std::str::FromStr;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

use crate::proto::TraceContext;

/// The remote span context an envelope names, when it names a valid one
/// (non-zero ids). A `tracestate` that does not parse is dropped, as W3C
/// asks of a malformed one; the trace itself goes on.
pub(crate) fn remote(trace: &TraceContext, state: &str) -> Option<SpanContext> {
    let id = (u128::from(trace.trace_id_high) << 64) | u128::from(trace.trace_id_low);
    let (trace_id, span_id) =
        (TraceId::from_bytes(id.to_be_bytes()), SpanId::from_bytes(trace.span_id.to_be_bytes()));
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    let flags = TraceFlags::new(u8::try_from(trace.flags & 0xff).unwrap_or_default());
    let state =
        if state.is_empty() { TraceState::NONE } else { TraceState::from_str(state).unwrap_or_default() };
    Some(SpanContext::new(trace_id, span_id, flags, true, state))
}

/// `span` as an envelope carries it, with its `tracestate` text (empty
/// when there is none); `None` for an invalid context.
pub(crate) fn to_wire(span: &SpanContext) -> Option<(TraceContext, String)> {
    if !span.is_valid() {
        return None;
    }
    let id = u128::from_be_bytes(span.trace_id().to_bytes());
    let trace = TraceContext {
        trace_id_high: (id >> 64) as u64,
        trace_id_low: id as u64,
        span_id: u64::from_be_bytes(span.span_id().to_bytes()),
        flags: u32::from(span.trace_flags().to_u8()),
    };
    Some((trace, span.trace_state().header()))
}

/// The context of the span the current task runs under (a handler's
/// `handler.run`), for the messages it sends.
pub(crate) fn current() -> Option<(TraceContext, String)> {
    let cx = opentelemetry::Context::current();
    cx.has_active_span().then(|| to_wire(cx.span().span_context())).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_survives_the_wire() {
        let state = TraceState::from_key_value([("vendor", "x1")]).unwrap();
        let span = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            state,
        );
        let (wire, text) = to_wire(&span).unwrap();
        assert_eq!(wire.trace_id_high, 0x4bf9_2f35_77b3_4da6);
        assert_eq!(wire.span_id, 0x00f0_67aa_0ba9_02b7);
        assert_eq!(text, "vendor=x1");
        let back = remote(&wire, &text).unwrap();
        assert_eq!(back.trace_id(), span.trace_id());
        assert_eq!(back.span_id(), span.span_id());
        assert!(back.is_sampled() && back.is_remote());
        assert_eq!(back.trace_state().get("vendor"), Some("x1"));
    }

    #[test]
    fn zero_ids_are_no_context_and_bad_state_is_dropped() {
        let zero = TraceContext { trace_id_high: 0, trace_id_low: 0, span_id: 7, flags: 1 };
        assert!(remote(&zero, "").is_none());
        let no_span = TraceContext { trace_id_high: 1, trace_id_low: 0, span_id: 0, flags: 1 };
        assert!(remote(&no_span, "").is_none());
        let ok = TraceContext { trace_id_high: 1, trace_id_low: 2, span_id: 3, flags: 0 };
        let span = remote(&ok, "not a = valid=state,,=").unwrap();
        assert!(!span.is_sampled());
        assert_eq!(span.trace_state().header(), "");
        assert!(to_wire(&SpanContext::empty_context()).is_none());
    }
}
