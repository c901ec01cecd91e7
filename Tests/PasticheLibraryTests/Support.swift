import Foundation
import XCTest
import PasticheCore
@testable import PasticheLibrary

/// Random finite floats drawn from raw bit patterns: covers subnormals, -0 and extremes,
/// which is what a bit-exactness test needs.
func randomBitsEmbedding(_ rng: inout SplitMix64, count: Int = 100) -> [Float] {
    (0..<count).map { _ in
        var f: Float
        repeat { f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) } while !f.isFinite
        return f
    }
}

func randomBytes(_ rng: inout SplitMix64, count: Int) -> [UInt8] {
    (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

func hexHash(_ seed: UInt64) -> String {
    var rng = SplitMix64(seed: seed)
    return (0..<4).map { _ in String(format: "%016llx", rng.next()) }.joined()
}

func makeRecord(_ name: String, seed: UInt64, modelID: String = "model-a", pixelHash: String? = nil,
                thumbnailBytes: Int = 64, tags: [String] = ["test"], recipe: [RecipeComponent]? = nil) -> StyleRecord {
    var rng = SplitMix64(seed: seed)
    return StyleRecord(name: name, embedding: randomBitsEmbedding(&rng), modelID: modelID,
                       pixelHash: pixelHash ?? hexHash(seed), sourceFile: "/images/\(name).jpg",
                       sourceWidth: 640 + Int(seed % 100), sourceHeight: 480,
                       addedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(seed)),
                       tags: tags, thumbnail: randomBytes(&rng, count: thumbnailBytes), recipe: recipe)
}

extension XCTestCase {
    func assertThrows<E: Error & Equatable>(_ expected: E, file: StaticString = #filePath, line: UInt = #line,
                                             _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? E, expected, "got \(error)", file: file, line: line)
        }
    }
}
