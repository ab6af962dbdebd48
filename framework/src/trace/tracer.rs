//! A node's tracer and the spans of its hops.

use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, TracerProviderBuilder};

use super::wire;
use crate::config::NodeConfig;
use crate::proto::{Envelope, Kind};
use crate::status::Status;

/// Adds a span processor (and its exporter) to a provider being built:
/// how [`crate::NodeBuilder::span_exporter`] hands its exporter over.
pub(crate) type AddExporter = Box<dyn FnOnce(TracerProviderBuilder) -> TracerProviderBuilder + Send>;

/// The hops a message takes, each a span (`docs/operations.md` lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hop {
    /// A proxy handles a client's frame: the root of the request's trace.
    ProxyReceive,
    /// A node passes a message on (requests, responses, pushes).
    Relay,
    /// A handler runs; its calls and pushes are its children.
    HandlerRun,
    /// A proxy turns a forwarded request's response into the client's reply.
    Reply,
    /// A proxy queues a push for one of its clients.
    Push,
}

impl Hop {
    fn name(self) -> &'static str {
        match self {
            Hop::ProxyReceive => "proxy.receive",
            Hop::Relay => "relay",
            Hop::HandlerRun => "handler.run",
            Hop::Reply => "proxy.reply",
            Hop::Push => "proxy.push",
        }
    }

    fn kind(self) -> SpanKind {
        match self {
            Hop::ProxyReceive | Hop::HandlerRun => SpanKind::Server,
            Hop::Relay => SpanKind::Internal,
            Hop::Reply | Hop::Push => SpanKind::Consumer,
        }
    }
}

/// A node's tracer: off (the default) or recording through its own
/// provider.
#[derive(Debug, Default)]
pub(crate) struct NodeTracer {
    on: Option<(SdkTracerProvider, SdkTracer)>,
}

impl NodeTracer {
    /// A tracer for `config`'s `traces` section and the exporter given to
    /// the builder (which replaces `traces.otlp`); off when there is
    /// neither.
    ///
    /// # Errors
    /// Why the OTLP exporter could not be made.
    pub(crate) fn new(config: &NodeConfig, given: Option<AddExporter>) -> Result<NodeTracer, String> {
        let traces = config.traces.as_ref();
        let builder = SdkTracerProvider::builder();
        let builder = match (given, traces.and_then(|t| t.otlp.as_ref())) {
            (Some(add), _) => add(builder),
            (None, Some(otlp)) => super::export::otlp(builder, otlp)?,
            (None, None) => {
                if traces.is_some() {
                    tracing::warn!(
                        "traces has no otlp endpoint and no exporter was given: no spans are recorded"
                    );
                }
                return Ok(NodeTracer::default());
            }
        };
        // A proxy decides for the whole request; every later hop follows
        // the decision that arrives with it.
        let ratio = traces.map_or(1.0, |t| t.sample_ratio);
        let service = traces.and_then(|t| t.service_name.clone()).unwrap_or_else(|| config.name.clone());
        let resource = Resource::builder()
            .with_service_name(service)
            .with_attribute(KeyValue::new("service.instance.id", config.node_id().to_string()))
            .build();
        let provider = builder
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio))))
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("espoir");
        Ok(NodeTracer { on: Some((provider, tracer)) })
    }

    /// Whether this node records spans.
    pub(crate) fn is_on(&self) -> bool {
        self.on.is_some()
    }

    /// The root span of a client request, when this node traces.
    pub(crate) fn root(&self, hop: Hop, command: i32) -> Option<HopSpan> {
        let (_, tracer) = self.on.as_ref()?;
        Some(start(tracer, hop, command, Kind::Request, &Context::new()))
    }

    /// The span of a hop of `envelope`, child of the span that sent it;
    /// `None` when this node does not trace or the message carries no
    /// trace (no allocation then).
    pub(crate) fn follow(&self, hop: Hop, envelope: &Envelope) -> Option<HopSpan> {
        let (_, tracer) = self.on.as_ref()?;
        let parent = wire::remote(envelope.trace.as_ref()?, &envelope.trace_state)?;
        let parent = Context::new().with_remote_span_context(parent);
        Some(start(tracer, hop, envelope.command, envelope.kind(), &parent))
    }

    /// Stamps `envelope` with the span the current task runs under (a
    /// handler's), when this node traces and there is one.
    pub(crate) fn stamp_current(&self, envelope: &mut Envelope) {
        if self.is_on()
            && let Some((trace, state)) = wire::current()
        {
            envelope.trace = Some(trace);
            envelope.trace_state = state;
        }
    }

    /// Exports what is left and stops the exporter. Blocks: call it off the
    /// async workers.
    pub(crate) fn shutdown_provider(provider: &SdkTracerProvider) {
        if let Err(err) = provider.shutdown() {
            tracing::warn!(error = %err, "trace exporter did not shut down cleanly");
        }
    }

    /// The provider, for the node's stop to shut down.
    pub(crate) fn provider(&self) -> Option<SdkTracerProvider> {
        self.on.as_ref().map(|(p, _)| p.clone())
    }
}

fn start(tracer: &SdkTracer, hop: Hop, command: i32, kind: Kind, parent: &Context) -> HopSpan {
    let kind = match kind {
        Kind::Request => "request",
        Kind::Response => "response",
        Kind::Push => "push",
        Kind::Notify => "notify",
        Kind::Session => "session",
        _ => "other",
    };
    let span = tracer
        .span_builder(hop.name())
        .with_kind(hop.kind())
        .with_attributes([
            KeyValue::new("espoir.command", i64::from(command)),
            KeyValue::new("espoir.message", kind),
        ])
        .start_with_context(tracer, parent);
    HopSpan { cx: parent.with_span(span) }
}

/// The span of one hop; it ends when dropped.
#[derive(Debug)]
pub(crate) struct HopSpan {
    cx: Context,
}

impl HopSpan {
    /// Makes this span the parent of the hop `envelope` goes on to.
    pub(crate) fn stamp(&self, envelope: &mut Envelope) {
        if let Some((trace, state)) = wire::to_wire(self.cx.span().span_context()) {
            envelope.trace = Some(trace);
            envelope.trace_state = state;
        }
    }

    /// The context to run a handler under, so that its calls and pushes
    /// are children of this span.
    pub(crate) fn context(&self) -> Context {
        self.cx.clone()
    }

    /// Records that the hop ended in `status`.
    pub(crate) fn fail(&self, status: &Status) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("espoir.status", i64::from(status.code().as_u32())));
        span.set_status(opentelemetry::trace::Status::error(status.message().to_owned()));
    }
}

impl Drop for HopSpan {
    fn drop(&mut self) {
        self.cx.span().end();
    }
}
