import Foundation
import XCTest
import PasticheImage
import PasticheLibrary
import PasticheModels
@testable import PasticheStudio
#if canImport(Glibc)
import Glibc
#endif

/// The status and one-line message every error a route throws is answered with.
final class StudioErrorTests: XCTestCase {
    private func mapped(_ error: Error) -> StudioError { StudioError.from(error) }

    func testMessagesAreOneLine() {
        let e = StudioError(400, "first\nsecond\r\nthird")
        XCTAssertEqual(e.message, "first second third")
        XCTAssertEqual(e.description, "400: first second third")
        XCTAssertEqual(e.status.code, 400)
    }

    func testAStudioErrorPassesThrough() {
        let e = mapped(StudioError.busy)
        XCTAssertEqual(e.code, 503)
        XCTAssertEqual(e.message, StudioError.busy.message)
    }

    func testLibraryErrorsSayWhoseFaultItWas() {
        let notFound = StyleStoreError.notFound("monet", suggestions: ["manet"])
        XCTAssertEqual(mapped(notFound).code, 404)
        XCTAssertEqual(mapped(notFound).message, notFound.description)
        XCTAssertEqual(mapped(StyleStoreError.nameTaken("monet")).code, 409)
        XCTAssertEqual(mapped(StyleStoreError.nameTaken("monet")).message, "style 'monet' already exists")
        XCTAssertEqual(mapped(StyleStoreError.invalidName("a/b", "no slashes")).code, 400)
        XCTAssertEqual(mapped(StyleStoreError.invalidRecord("empty")).code, 400)
        XCTAssertEqual(mapped(StyleStoreError.invalidImport("bad file")).code, 400)
        XCTAssertEqual(mapped(StyleStoreError.corruptRecord(name: "x", reason: "short")).code, 500)
        XCTAssertEqual(mapped(StyleStoreError.noLibrary(path: "/nowhere")).code, 500)
        XCTAssertEqual(mapped(StyleLibraryError("embedding of another model")).code, 409)
    }

    func testImageErrorsByKind() {
        let tooLarge = ImageError(file: "big.png", kind: .tooLarge, reason: "100000×100000 is too large")
        XCTAssertEqual(mapped(tooLarge).code, 413)
        XCTAssertEqual(mapped(tooLarge).message, "big.png: 100000×100000 is too large")
        XCTAssertEqual(mapped(ImageError(file: "a.png", kind: .corrupt, reason: "bad CRC")).code, 400)
        XCTAssertEqual(mapped(ImageError(file: "a.png", kind: .unknownFormat, reason: "not an image")).code, 400)
        XCTAssertEqual(mapped(ImageError(file: "a.png", kind: .outOfMemory, reason: "no memory")).code, 500)
        XCTAssertEqual(mapped(ImageError(file: "o.png", kind: .writeFailed, reason: "No space left on device")).code, 507)
        XCTAssertEqual(mapped(ImageError(file: "o.png", kind: .writeFailed, reason: "Permission denied")).code, 500)
    }

    func testModelAndStorageErrors() {
        XCTAssertEqual(mapped(ModelError("not a Pastiche model")).code, 400)
        XCTAssertEqual(mapped(LMDBError(ENOSPC, "mdb_put", path: "/lib")).code, 507, "a full disk is 507")
        XCTAssertEqual(mapped(LMDBError(EACCES, "mdb_env_open", path: "/lib")).code, 500)
        struct Other: Error, CustomStringConvertible { var description: String { "something else" } }
        XCTAssertEqual(mapped(Other()).code, 500)
        XCTAssertEqual(mapped(Other()).message, "something else")
    }

    private struct Body: Decodable {
        struct Item: Decodable { let weight: Double }
        let name: String
        let items: [Item]
    }

    private func decodingError(_ json: String) -> Error? {
        do { _ = try JSONDecoder().decode(Body.self, from: Data(json.utf8)); return nil } catch { return error }
    }

    func testDecodingErrorsAreOneLineNamingTheField() throws {
        let cases: [(String, String)] = [
            (#"{"items": []}"#, "bad JSON: missing field 'name'"),
            (#"{"name": 3, "items": []}"#, "bad JSON: name has the wrong type"),
            (#"{"name": "a", "items": [{"weight": 1}, {"weight": "x"}]}"#, "bad JSON: items[1].weight has the wrong type"),
            (#"{"name": null, "items": []}"#, "bad JSON: name has the wrong type"),
            ("{not json", "bad JSON: the body is not valid JSON"),
        ]
        for (json, expected) in cases {
            let error = try XCTUnwrap(decodingError(json), json)
            XCTAssertTrue(error is DecodingError, json)
            let e = mapped(error)
            XCTAssertEqual(e.code, 400, json)
            XCTAssertEqual(e.message, expected, json)
            XCTAssertFalse(e.message.contains("\n"), json)
        }
    }
}
