//! Traces across nodes: W3C trace context in the envelope, one span per
//! hop, exported per node (`docs/operations.md`, "Traces").
//!
//! Each node has its own tracer provider, built from its own `traces`
//! section: nodes sharing a process (`espoir up`, tests) export under their
//! own `service.name`, and no process-global tracer exists. A node without
//! one records nothing and costs one branch per message; a trace context
//! arriving in an envelope then travels on untouched.
//!
//! * `wire`: the envelope's `TraceContext` ↔ OpenTelemetry span contexts.
//!   Pure.
//! * `tracer`: [`NodeTracer`], the hops it records ([`Hop`]) and the span
//!   of one hop ([`HopSpan`]).
//! * `export`: the OTLP/HTTP exporter of `traces.otlp` (feature `otlp`).

mod export;
mod tracer;
mod wire;

pub(crate) use tracer::{AddExporter, Hop, HopSpan, NodeTracer};
