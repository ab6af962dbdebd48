//! The OTLP/HTTP exporter of `traces.otlp`.

use opentelemetry_sdk::trace::TracerProviderBuilder;

use crate::config::OtlpConfig;

/// `builder` exporting batches of spans as protobuf to `config.endpoint`.
///
/// The exporter is built on a thread of its own: its blocking HTTP client
/// runs a runtime of its own, which must not be made on an async worker.
/// Batches go out from the batch processor's own thread.
#[cfg(feature = "otlp")]
pub(super) fn otlp(
    builder: TracerProviderBuilder,
    config: &OtlpConfig,
) -> Result<TracerProviderBuilder, String> {
    use opentelemetry_otlp::WithExportConfig as _;
    let (endpoint, timeout) = (config.endpoint.clone(), config.timeout);
    let built = std::thread::spawn(move || {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_timeout(timeout)
            .build()
    })
    .join()
    .map_err(|_| "traces.otlp: the exporter panicked while being built".to_owned())?;
    Ok(builder.with_batch_exporter(built.map_err(|err| format!("traces.otlp: {err}"))?))
}

/// Without the `otlp` feature validation refuses `traces.otlp`; only a
/// config that skipped validation gets here.
#[cfg(not(feature = "otlp"))]
pub(super) fn otlp(
    _builder: TracerProviderBuilder,
    _config: &OtlpConfig,
) -> Result<TracerProviderBuilder, String> {
    Err("traces.otlp: this build has no OTLP exporter (cargo feature `otlp`)".to_owned())
}
