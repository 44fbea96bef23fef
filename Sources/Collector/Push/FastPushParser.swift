import LokiPush

/// The fast path for `{"streams":[{"stream":{…},"values":[["ts","line"],…]},…]}` (see
/// FastJSONScanner for the rules); nil means "ask JSONDecoder".
enum FastPushParser {
    static func parse(_ bytes: UnsafeRawBufferPointer) -> LokiPushRequest? {
        var scanner = FastJSONScanner(bytes)
        guard scanner.take(UInt8(ascii: "{")), let key = scanner.plainString(), FastJSONScanner.equals(key, "streams"),
            scanner.take(UInt8(ascii: ":")),
            let streams = list(&scanner, element: stream),
            scanner.take(UInt8(ascii: "}")), scanner.atEnd
        else { return nil }
        return LokiPushRequest(streams: streams)
    }

    /// `[ element, … ]`, possibly empty.
    private static func list<Element>(
        _ scanner: inout FastJSONScanner,
        element: (inout FastJSONScanner) -> Element?
    ) -> [Element]? {
        guard scanner.take(UInt8(ascii: "[")) else { return nil }
        var elements: [Element] = []
        if scanner.take(UInt8(ascii: "]")) { return elements }
        repeat {
            guard let next = element(&scanner) else { return nil }
            elements.append(next)
        } while scanner.take(UInt8(ascii: ","))
        return scanner.take(UInt8(ascii: "]")) ? elements : nil
    }

    private static func stream(_ scanner: inout FastJSONScanner) -> LokiStream? {
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        var labels: [String: String]?
        var values: [LokiEntry]?
        repeat {
            // Keys as raw bytes: no String is built for the document's structure.
            guard let key = scanner.plainString(), scanner.take(UInt8(ascii: ":")) else { return nil }
            if FastJSONScanner.equals(key, "stream"), labels == nil {
                guard let parsed = self.labels(&scanner) else { return nil }
                labels = parsed
            } else if FastJSONScanner.equals(key, "values"), values == nil {
                guard let parsed = list(&scanner, element: entry) else { return nil }
                values = parsed
            } else {
                return nil
            }
        } while scanner.take(UInt8(ascii: ","))
        guard scanner.take(UInt8(ascii: "}")), let labels, let values else { return nil }
        return LokiStream(stream: labels, values: values)
    }

    private static func labels(_ scanner: inout FastJSONScanner) -> [String: String]? {
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        var labels: [String: String] = [:]
        if scanner.take(UInt8(ascii: "}")) { return labels }
        repeat {
            guard let name = scanner.string(), scanner.take(UInt8(ascii: ":")), let value = scanner.string(),
                labels.updateValue(value, forKey: name) == nil
            else { return nil }
        } while scanner.take(UInt8(ascii: ","))
        return scanner.take(UInt8(ascii: "}")) ? labels : nil
    }

    private static func entry(_ scanner: inout FastJSONScanner) -> LokiEntry? {
        guard scanner.take(UInt8(ascii: "[")), let timestamp = scanner.string(), scanner.take(UInt8(ascii: ",")),
            let line = scanner.string(), scanner.take(UInt8(ascii: "]"))
        else { return nil }
        return LokiEntry(timestamp: timestamp, line: line)
    }
}
