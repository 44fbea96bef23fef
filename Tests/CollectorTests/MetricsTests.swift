import Collector
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// /metrics exposes the series of docs/signals.md, and frontend events move them.
@Suite struct MetricsTests {
    @Test func frontendEventsFeedHistogramsAndErrorCounters() async throws {
        let loki = InMemoryLokiClient()
        let app = try await buildApplication(
            configuration: try testConfiguration(),
            dependencies: CollectorDependencies(lokiClient: loki, logger: quietLogger)
        )
        try await app.test(.router) { client async throws -> Void in
            let before = try await client.execute(uri: "/metrics", method: .get)
            #expect(before.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: before.body)
            for name in [
                "lookout_frontend_ttfb_seconds_bucket", "lookout_frontend_dom_content_loaded_seconds_bucket",
                "lookout_frontend_load_seconds_bucket", "lookout_frontend_lcp_seconds_bucket",
                "lookout_frontend_inp_seconds_bucket", "lookout_frontend_cls_bucket",
                "lookout_frontend_js_errors_total{type=\"error\"}", "lookout_collector_events_accepted_total",
                "lookout_collector_events_rejected_total{reason=\"schema\"}", "lookout_collector_rate_limited_total",
                "lookout_collector_events_forwarded_total", "lookout_collector_forward_retries_total",
                "lookout_collector_events_dropped_total", "lookout_collector_queue_depth",
            ] {
                #expect(text.contains(name), "missing \(name)")
            }
            for family in ["lookout_frontend_ttfb_seconds", "lookout_collector_events_accepted_total", "lookout_collector_queue_depth"] {
                #expect(text.contains("# HELP \(family) "), "no HELP for \(family)")
            }

            let pageload = pushBody(
                labels: ["kind": "pageload"],
                lines: [#"{"kind":"pageload","page":"/","ttfb":120,"dcl":800,"load":1500,"dns":3}"#]
            )
            let vitals = pushBody(
                labels: ["kind": "vitals"],
                lines: [#"{"kind":"vitals","page":"/","lcp":2000,"cls":0.05,"inp":150}"#, #"{"kind":"vitals","cls":0.3}"#]
            )
            let errors = pushBody(
                labels: ["kind": "error"],
                lines: [
                    #"{"kind":"error","type":"error","message":"x is undefined","line":3}"#,
                    #"{"kind":"error","type":"unhandledrejection","message":"nope"}"#,
                    #"{"kind":"error","type":"made-up","message":"?"}"#,
                ]
            )
            // Lines that are not measurements (or nonsense values) are forwarded but not measured.
            let noise = pushBody(labels: ["kind": "pageload"], lines: ["plain text", #"{"kind":"pageload","ttfb":-5,"load":"slow"}"#])
            for body in [pageload, vitals, errors, noise] {
                #expect(try await client.push(body).status == .noContent)
            }

            #expect(try await client.metric("lookout_frontend_ttfb_seconds_count") == 1)
            #expect(try await client.metric("lookout_frontend_ttfb_seconds_sum") == 0.12)
            #expect(try await client.metric(#"lookout_frontend_ttfb_seconds_bucket{le="0.2"}"#) == 1)
            #expect(try await client.metric(#"lookout_frontend_ttfb_seconds_bucket{le="0.1"}"#) == 0)
            #expect(try await client.metric("lookout_frontend_dom_content_loaded_seconds_sum") == 0.8)
            #expect(try await client.metric("lookout_frontend_load_seconds_sum") == 1.5)
            #expect(try await client.metric("lookout_frontend_lcp_seconds_sum") == 2.0)
            #expect(try await client.metric("lookout_frontend_inp_seconds_sum") == 0.15)
            #expect(try await client.metric("lookout_frontend_cls_count") == 2)
            #expect(try await client.metric(#"lookout_frontend_cls_bucket{le="0.1"}"#) == 1)
            #expect(try await client.metric(#"lookout_frontend_js_errors_total{type="error"}"#) == 1)
            #expect(try await client.metric(#"lookout_frontend_js_errors_total{type="unhandledrejection"}"#) == 1)
            #expect(try await client.metric(#"lookout_frontend_js_errors_total{type="other"}"#) == 1)
            #expect(try await client.metric("lookout_collector_events_accepted_total") == 8)
            try await eventually("all events forwarded") {
                try await client.metric("lookout_collector_events_forwarded_total") == 8
            }
            #expect(try await client.metric("lookout_collector_queue_depth") == 0)
        }
        #expect(loki.received.flatMap(\.streams).flatMap(\.values).count == 8)
    }

    @Test func healthAnswersAndReadyFollowsTheLokiClient() async throws {
        let loki = InMemoryLokiClient()
        let app = try await buildApplication(
            configuration: try testConfiguration(),
            dependencies: CollectorDependencies(lokiClient: loki, logger: quietLogger)
        )
        try await app.test(.router) { client async throws -> Void in
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/ready", method: .get).status == .ok)
            loki.setReady(false)
            #expect(try await client.execute(uri: "/ready", method: .get).status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }
}
