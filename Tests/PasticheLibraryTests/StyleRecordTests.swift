import XCTest
@testable import PasticheLibrary

final class StyleRecordTests: XCTestCase {
    func testEncodingRoundTripIsBitExact() throws {
        var r = makeRecord("starry.night_2", seed: 7, thumbnailBytes: 300, tags: ["b", "a", "b"],
                           recipe: [.init(name: "x", weight: 0.25), .init(name: "y", weight: -0.0)])
        r.embedding[0] = -0.0
        r.embedding[1] = .leastNonzeroMagnitude
        r.embedding[2] = .greatestFiniteMagnitude
        XCTAssertEqual(r.tags, ["a", "b"], "tags are kept sorted and unique")
        let bytes = r.encoded()
        XCTAssertEqual(Array(bytes.prefix(6)), Array("PSTR".utf8) + [1, 0])
        let back = try StyleRecord(encoded: bytes)
        XCTAssertEqual(back, r)
        XCTAssertEqual(back.embedding.map(\.bitPattern), r.embedding.map(\.bitPattern))
        XCTAssertEqual(back.recipe?[1].weight.sign, .minus)
        XCTAssertEqual(back.encoded(), bytes)
    }

    func testEmptyOptionalFieldsRoundTrip() throws {
        let r = StyleRecord(name: "blend", embedding: [1, 2, 3], modelID: "m", addedAt: Date(timeIntervalSince1970: 0))
        let back = try StyleRecord(encoded: r.encoded())
        XCTAssertEqual(back, r)
        XCTAssertNil(back.recipe)
        XCTAssertEqual(back.thumbnail, [])
        XCTAssertEqual(back.embedding.count, 3, "the count is stored, not assumed to be 100")
    }

    func testAddedAtIsWholeMilliseconds() throws {
        let r = StyleRecord(name: "t", embedding: [1], modelID: "m", addedAt: Date(timeIntervalSince1970: 12.3456789))
        XCTAssertEqual(r.addedAtMilliseconds, 12346)
        XCTAssertEqual(try StyleRecord(encoded: r.encoded()), r)
    }

    /// A later compatible writer appends fields to the section and bumps the section length;
    /// this reader must skip them.
    func testTrailingFieldsFromLaterMinorVersionAreSkipped() throws {
        let r = makeRecord("a", seed: 1)
        var bytes = r.encoded()
        let extra: [UInt8] = [9, 8, 7, 6, 5]
        bytes += extra
        let length = UInt32(bytes.count - 10)
        bytes.replaceSubrange(6..<10, with: withUnsafeBytes(of: length.littleEndian, Array.init))
        XCTAssertEqual(try StyleRecord(encoded: bytes), r)
    }

    func testRejectsNewerVersionBadMagicAndTruncation() {
        let bytes = makeRecord("a", seed: 1).encoded()
        var newer = bytes
        newer[4] = 2
        XCTAssertThrowsError(try StyleRecord(encoded: newer)) { error in
            XCTAssertEqual(error as? StyleRecordDecodingError, .unsupportedVersion(2))
            XCTAssertTrue("\(error)".contains("newer than this build supports"), "\(error)")
        }
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        XCTAssertThrowsError(try StyleRecord(encoded: magic)) { XCTAssertEqual($0 as? StyleRecordDecodingError, .badMagic) }
        for cut in [0, 3, 5, 9, 10, 50, bytes.count - 1] {
            XCTAssertThrowsError(try StyleRecord(encoded: Array(bytes.prefix(cut))), "cut at \(cut)")
        }
        // A section length that lies (claims less than the fields need) must not crash either.
        var lying = bytes
        lying.replaceSubrange(6..<10, with: [20, 0, 0, 0])
        XCTAssertThrowsError(try StyleRecord(encoded: Array(lying.prefix(30))))
    }

    func testNameValidation() {
        for good in ["a", "Starry-Night_2.v1", String(repeating: "x", count: 128), "0"] {
            XCTAssertTrue(StyleName.isValid(good), good)
        }
        for bad in ["", "a b", "naïve", "../x", "a/b", String(repeating: "x", count: 129), "tab\t", "star*"] {
            XCTAssertThrowsError(try StyleName.validate(bad), bad) { error in
                guard case .invalidName = error as? StyleStoreError else { return XCTFail("\(error)") }
            }
        }
    }
}
