import Collector
import Testing

/// Settings from flags/environment: defaults from docs/signals.md, clear errors for bad values.
@Suite struct ConfigurationTests {
    @Test func defaultsMatchTheContract() throws {
        let configuration = try CollectorConfiguration(values: [:])
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 8081)
        #expect(configuration.lokiURL == "http://loki:3100")
        #expect(configuration.loggerJSPath == "/usr/share/lookout/logger.js")
        #expect(configuration.publicPushURL == "https://monitoring-host:3100/loki/api/v1/push")
        #expect(configuration.allowedOrigins == .none)
    }

    @Test func valuesAreParsed() throws {
        let configuration = try CollectorConfiguration(values: [
            .listen: "[::]:9000", .lokiURL: "https://loki.internal:3100/loki/api/v1/push/",
            .maxEntries: "7", .ratePerSecond: "2.5", .queueCapacity: "42",
        ])
        #expect(configuration.host == "::")
        #expect(configuration.port == 9000)
        #expect(configuration.lokiURL == "https://loki.internal:3100")
        #expect(configuration.limits.maxEntriesPerPush == 7)
        #expect(configuration.limits.ratePerSecond == 2.5)
        #expect(configuration.forwarding.queueCapacity == 42)
    }

    @Test(arguments: [
        (CollectorSetting.listen, "8081"), (.listen, "host:99999"), (.lokiURL, "loki:3100"),
        (.maxBodyBytes, "big"), (.maxEntries, "0"), (.rateBurst, "-1"), (.ratePerSecond, "nan"),
    ])
    func badValuesNameTheVariable(_ setting: CollectorSetting, _ value: String) {
        #expect {
            try CollectorConfiguration(values: [setting: value])
        } throws: { error in
            "\(error)".hasPrefix("\(setting.rawValue)=\(value):")
        }
    }

    @Test func emptyEnvironmentValuesCountAsUnset() {
        let values = CollectorSetting.values(from: ["LOOKOUT_LISTEN": "", "LOOKOUT_LOKI_URL": "http://l:3100", "OTHER": "x"])
        #expect(values == [.lokiURL: "http://l:3100"])
    }
}
