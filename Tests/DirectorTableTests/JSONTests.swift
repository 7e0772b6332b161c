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
