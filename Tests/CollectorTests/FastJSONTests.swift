@testable import Collector
import Foundation
import LokiPush
import Testing

/// The fast JSON paths may only ever accept what JSONDecoder accepts, with the same result;
/// and they must actually take the common case (or they would be dead weight).
@Suite struct FastJSONTests {
    static let pieces = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "é", "😀", "{", "}", "[", "]", ",", ":", "\u{1}", "\u{7f}"]

    static func randomString(_ random: inout SplitMix64, maxLength: Int = 12) -> String {
        (0..<Int.random(in: 0...maxLength, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    /// Hand-written JSON for a string: random choices among equivalent escapes.
    static func encode(_ text: String, _ random: inout SplitMix64) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += Bool.random(using: &random) ? "/" : "\\/"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\u{1}": out += "\\u0001"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func space(_ random: inout SplitMix64) -> String {
        ["", "", "", " ", "\n  ", "\t"].randomElement(using: &random)!
    }

    static func randomPush(_ random: inout SplitMix64) -> String {
        let streams = (0..<Int.random(in: 0...3, using: &random)).map { _ -> String in
            let labels = (0..<Int.random(in: 0...3, using: &random)).map { index in
                "\(encode("l\(index)" + randomString(&random, maxLength: 3), &random)):\(space(&random))\(encode(randomString(&random), &random))"
            }
            let values = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                "[\(space(&random))\(encode(String(UInt64.random(in: 0...UInt64(Int64.max), using: &random)), &random)),\(encode(randomString(&random, maxLength: 40), &random))\(space(&random))]"
            }
            let members = ["\"stream\":{\(labels.joined(separator: ","))}", "\"values\":\(space(&random))[\(values.joined(separator: ","))]"]
            return "{\(space(&random))\((Bool.random(using: &random) ? members : members.reversed()).joined(separator: ","))}"
        }
        return "\(space(&random)){\"streams\":[\(streams.joined(separator: ",\(space(&random))"))]}\(space(&random))"
    }

    static func mutate(_ text: String, _ random: inout SplitMix64) -> [UInt8] {
        var bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return bytes }
        let position = Int.random(in: 0..<bytes.count, using: &random)
        let replacement = Array("{}[]\",:\\ 0ax-.eE\u{0}".utf8).randomElement(using: &random)!
        switch Int.random(in: 0..<3, using: &random) {
        case 0: bytes[position] = replacement
        case 1: bytes.remove(at: position)
        default: bytes.insert(replacement, at: position)
        }
        return bytes
    }

    @Test func pushParserAgreesWithJSONDecoder() {
        var random = SplitMix64(state: 6)
        var fastHits = 0, canonical = 0
        for round in 0..<4_000 {
            let text = Self.randomPush(&random)
            let bytes = round % 2 == 0 ? Array(text.utf8) : Self.mutate(text, &random)
            let fast = bytes.withUnsafeBytes { FastPushParser.parse($0) }
            let slow = try? JSONDecoder().decode(LokiPushRequest.self, from: Data(bytes))
            if let fast {
                fastHits += 1
                #expect(fast == slow, "fast path disagrees on: \(String(decoding: bytes, as: UTF8.self))")
            }
            if round % 2 == 0, !text.contains("\\u") {
                canonical += 1
                #expect(fast != nil, "fast path refused plain input: \(text)")
            }
        }
        #expect(fastHits >= canonical && canonical > 500, "fast: \(fastHits), plain inputs: \(canonical)")
    }

    @Test func pushParserTakesWhatJSONEncoderAndTheLoggerWrite() throws {
        let push = LokiPushRequest(streams: [
            LokiStream(stream: ["app": "frontend", "kind": "error"], values: [
                LokiEntry(timestamp: "1764064800000000000", line: #"{"kind":"error","message":"a \"b\" / c\nd","stack":"at x (http://h/a.js:1:2)"}"#),
            ]),
        ])
        let encoded = try JSONEncoder().encode(push)
        #expect(encoded.withUnsafeBytes { FastPushParser.parse($0) } == push)
    }

    static func randomLine(_ random: inout SplitMix64) -> String {
        let keys = ["kind", "type", "ttfb", "dcl", "load", "lcp", "inp", "cls", "page", "line", "message"]
        let values = [
            "\"pageload\"", "\"vitals\"", "\"error\"", "null", "true", "120", "-0", "0.05", "1.5e3", "1E-2", "01", "1.", "-", "1e400",
            "\"x\\\"y\"", "{}", "[1]", "\"\\u0041\"", "12345678901234567890",
        ]
        let members = (0..<Int.random(in: 0...6, using: &random)).map { _ in
            "\"\(keys.randomElement(using: &random)!)\":\(space(&random))\(values.randomElement(using: &random)!)"
        }
        return "{\(members.joined(separator: ",\(space(&random))"))}"
    }

    @Test func lineScannerAgreesWithJSONDecoder() {
        var random = SplitMix64(state: 7)
        var fastHits = 0
        for round in 0..<4_000 {
            let text = Self.randomLine(&random)
            let bytes = round % 3 == 0 ? Self.mutate(text, &random) : Array(text.utf8)
            let fast = bytes.withUnsafeBytes { FrontendEventMetrics.scan($0) }
            let slow = try? JSONDecoder().decode(FrontendEventMetrics.Line.self, from: Data(bytes))
            if let fast {
                fastHits += 1
                #expect(fast == slow, "line scanner disagrees on: \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(fastHits > 500)
        let logged = #"{"kind":"pageload","page":"/p","ttfb":184,"dcl":912.5,"load":1630,"dns":12,"nav_type":"navigate"}"#
        let scanned = Array(logged.utf8).withUnsafeBytes { FrontendEventMetrics.scan($0) }
        #expect(scanned?.kind == "pageload" && scanned?.ttfb == 184 && scanned?.dcl == 912.5 && scanned?.load == 1630)
    }

    @Test func pushEncoderWritesJSONThatDecodesToTheSamePush() throws {
        var random = SplitMix64(state: 8)
        let controls = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        for _ in 0..<500 {
            let streams = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                LokiStream(
                    stream: Dictionary(uniqueKeysWithValues: (0..<Int.random(in: 0...3, using: &random)).map { ("l\($0)", Self.randomString(&random)) }),
                    values: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                        LokiEntry(timestamp: String(Int.random(in: 0...Int.max, using: &random)),
                                  line: Self.randomString(&random, maxLength: 30) + controls.randomElement(using: &random)!)
                    }
                )
            }
            let push = LokiPushRequest(streams: streams)
            let encoded = LokiPushEncoder.encode(push)
            let decoded = try JSONDecoder().decode(LokiPushRequest.self, from: Data(encoded.readableBytesView))
            #expect(decoded == push)
        }
    }
}
