//! What is valid but unwise in a config: said at start-up and by
//! `espoir check`, never refused (obespoir's own configs must run as they
//! are).

use std::net::IpAddr;

use super::NodeConfig;
use crate::secure::Token;

/// The token obespoir's README and demo configs publish. Anyone who read
/// them holds it, so it guards nothing outside one machine.
const OBESPOIR_DEMO_TOKEN: &[u8] = b"helloworldiloveyou~1234567890123";

/// Whether `host` is reachable only from this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl NodeConfig {
    /// Valid settings that weaken the node, one sentence each: obespoir's
    /// published demo token on a node other machines can reach (defect 5
    /// of obespoir's list), and a loopback `bind` under a `host` other
    /// machines would dial.
    pub fn warnings(&self) -> Vec<String> {
        let bind_loopback = self.bind.is_some_and(|ip| ip.is_loopback());
        if bind_loopback && !is_loopback(&self.host) {
            // Peers dial `host`, but nothing listens there.
            return vec![format!(
                "bind {} is reachable only from this machine, while host {} (the address peers dial) is not \
                 loopback: other machines cannot reach this node",
                self.bind_host(),
                self.host
            )];
        }
        // A node bound to every interface is reachable from elsewhere even
        // when it announces a loopback address.
        if is_loopback(&self.host) && self.bind.is_none_or(|ip| ip.is_loopback()) {
            return Vec::new();
        }
        let demo = |token: Option<&Token>| token.is_some_and(|t| t.matches(OBESPOIR_DEMO_TOKEN));
        let mut fields: Vec<String> = Vec::new();
        if demo(Some(&self.rpc.token)) {
            fields.push("rpc.token".into());
        }
        if demo(self.websocket.as_ref().and_then(|w| w.token.as_ref())) {
            fields.push("websocket.token".into());
        }
        if demo(self.http.as_ref().and_then(|h| h.token.as_ref())) {
            fields.push("http.token".into());
        }
        for (i, remote) in self.remote_ports.iter().enumerate() {
            if demo(Some(&remote.token)) {
                fields.push(format!("remote_ports[{i}].token"));
            }
        }
        fields
            .into_iter()
            .map(|field| {
                format!(
                    "{field} is obespoir's published demo token, and host {} is reachable from other \
                     machines: anyone can use it; set a secret of your own",
                    self.bind_host()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn node(host: &str, token: &str) -> NodeConfig {
        let text = format!(
            r#"{{ name: "s", type: "service", host: "{host}", http: {{ port: 2, token: "{token}" }},
                 rpc: {{ port: 1, token: "{token}", encode: 0 }},
                 remote_ports: [{{ host: "10.0.0.2", port: 3, token: "{token}", type: "route" }}] }}"#
        );
        NodeConfig::from_json5_str(&text, Path::new("s.json5")).unwrap()
    }

    #[test]
    fn the_demo_token_is_flagged_only_where_other_machines_reach_the_node() {
        let demo = "helloworldiloveyou~1234567890123";
        let warned = node("10.0.0.1", demo).warnings();
        let fields: Vec<&str> = warned.iter().map(|w| w.split(' ').next().unwrap()).collect();
        assert_eq!(fields, ["rpc.token", "http.token", "remote_ports[0].token"]);
        assert!(warned[0].contains("10.0.0.1") && !warned[0].contains(demo), "never print the token");
        for local in ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"] {
            assert_eq!(node(local, demo).warnings(), Vec::<String>::new(), "{local}");
        }
        assert_eq!(node("10.0.0.1", "a-secret-of-our-own-0123456789").warnings(), Vec::<String>::new());
        assert_eq!(node("game.example.com", demo).warnings().len(), 3, "a name others resolve");
        let open = node("127.0.0.1", demo).with_bind("0.0.0.0").warnings();
        assert_eq!(open.len(), 3, "bound to every interface, the node is reachable: {open:?}");
        assert!(open[0].contains("0.0.0.0"), "{open:?}");
        assert_eq!(node("127.0.0.2", demo).with_bind("127.0.0.1").warnings(), Vec::<String>::new());
    }

    #[test]
    fn a_loopback_bind_under_a_remote_host_is_flagged() {
        let secret = "a-secret-of-our-own-0123456789";
        let warned = node("10.0.0.1", secret).with_bind("127.0.0.1").warnings();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("bind 127.0.0.1") && warned[0].contains("host 10.0.0.1"), "{warned:?}");
        assert_eq!(node("10.0.0.1", secret).with_bind("0.0.0.0").warnings(), Vec::<String>::new());
        assert_eq!(node("10.0.0.1", secret).with_bind("10.0.0.1").warnings(), Vec::<String>::new());
    }

    impl NodeConfig {
        fn with_bind(mut self, ip: &str) -> Self {
            self.bind = Some(ip.parse().unwrap());
            self
        }
    }
}
