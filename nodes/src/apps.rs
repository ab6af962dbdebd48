//! The handler groups this binary is built with, by `api_path` name.

use espoir::HandlerGroups;

/// Every group the `espoir` binary serves.
pub(crate) fn groups() -> HandlerGroups {
    HandlerGroups::new()
        .add("hello.proxy", hello::proxy)
        .add("hello.route", hello::route)
        .add("hello.service", hello::service)
        // The betting app (configs/local).
        .add_checked("betting.service", betting::service, betting::check_config)
        // The quote service (configs/quotes, docs/realtime.md).
        .add_checked("quotes.service", quotes::service, quotes::check_config)
        // The coin-grab arena (configs/arena, docs/rooms.md).
        .add_checked("arena.service", arena::service, arena::check_config)
        // obespoir's own demo configs name these modules; they run unchanged.
        .add("proxy.include_libs", hello::proxy)
        .add("route.include_libs", hello::route)
        .add("service.include_libs", hello::service)
}
