import Testing
@testable import DirectorTable

@Suite struct JSONTests {
    @Test(arguments: [
        #"{"op":"restart","ids":["web/api/1"]}"#,
        #"[1,-2,3.5,true,false,null,"a\"b\\c\n"]"#,
        #"{"nested":{"x":[{"y":1e3}]}}"#,
        #""\u00e9\ud83d\ude00""#,
    ])
    func roundTrips(_ text: String) throws {
        let v = try JSONValue.parse(text)
        #expect(try JSONValue.parse(v.serialized()) == v)
    }

    @Test(arguments: [
        "", "{", #"{"a":}"#, "[1,]", "tru", #""abc"#, #"{"a":1} x"#, "01x", #""\ud800""#, "\"\u{01}\"",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func rejectsInvalidUTF8InPlainAndEscapedStrings() throws {
        // The plain (no escape) fast path validates in place; the escaped path validates the copy.
        for bytes: [UInt8] in [[0x22, 0x61, 0xFF, 0x22], [0x22, 0x5C, 0x6E, 0xC3, 0x28, 0x22]] {
            #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes: bytes) }
        }
        #expect(try JSONValue.parse(bytes: Array("\"caf\u{e9}\"".utf8)) == .string("caf\u{e9}"))
    }

    @Test(arguments: [
        #"{"op":"shutdown","op":"restart"}"#,
        #"{"a":1,"b":2,"a":1}"#,
        #"[{"x":{"y":true,"y":true}}]"#,
        // Equal once decoded: the escape spells the same key.
        #"{"a":1,"\u0061":2}"#,
    ])
    func rejectsDuplicateKeys(_ text: String) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        #expect(error?.message.hasPrefix("duplicate key") == true, "\(String(describing: error))")
    }

    @Test func findsADuplicateAmongManyKeysWithoutQuadraticTime() throws {
        // Large objects switch from a linear scan to a set; 50 000 keys stay fast either way.
        let keys = (0..<50_000).map { #""k\#($0)":\#($0)"# }
        let distinct = "{" + keys.joined(separator: ",") + "}"
        let clock = ContinuousClock()
        let started = clock.now
        #expect(try JSONValue.parse(distinct, maxDepth: 4)["k49999"]?.intValue == 49_999)
        let duplicate = "{" + (keys + [#""k17":0"#]).joined(separator: ",") + "}"
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(duplicate, maxDepth: 4) }
        #expect(error?.message == #"duplicate key "k17""#)
        #expect(clock.now - started < .seconds(5))
    }

    @Test(arguments: ["1e999", "-1e999", #"{"n":[1E400]}"#, "123456789e308"])
    func rejectsNumbersThatAreNotFinite(_ text: String) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        #expect(error?.message.contains("finite") == true, "\(String(describing: error))")
    }

    @Test func keepsTinyAndLargeFiniteNumbers() throws {
        #expect(try JSONValue.parse("1e-999") == .double(0))
        #expect(try JSONValue.parse("1.5e308").doubleValue == 1.5e308)
        #expect(try JSONValue.parse("-0.0") == .double(0))
    }

    @Test func equalityIsReflexiveEvenOnObjectsBuiltWithDuplicateKeys() {
        // The parser never makes such an object, but code can; `==` must stay an equivalence.
        let twice = JSONValue.object([("a", .int(1)), ("a", .int(2))])
        #expect(twice == twice)
        #expect(twice != .object([("a", .int(1)), ("b", .int(2))]))
        #expect(JSONValue.object([("a", .int(1)), ("a", .int(1))]) != .object([("a", .int(1)), ("b", .int(1))]))
        #expect(JSONValue.object([("a", .int(1)), ("b", .int(1))]) != .object([("a", .int(1)), ("a", .int(1))]))
        #expect(JSONValue.object([("b", .int(2)), ("a", .int(1))]) == .object([("a", .int(1)), ("b", .int(2))]))
    }

    @Test func limitsDepth() {
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
    }

    @Test func keepsKeyOrderAndEscapes() throws {
        let v = JSONValue.object([("b", .int(1)), ("a", .string("x\ty"))])
        #expect(v.serialized() == #"{"b":1,"a":"x\ty"}"#)
        #expect(try JSONValue.parse(#"{"n":42}"#)["n"]?.intValue == 42)
    }
}
