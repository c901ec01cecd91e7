import Foundation
import XCTest

/// Tests that need something outside the repository (the fetched model, onnxruntime, ffmpeg,
/// mpirun) skip without it locally, and fail without it where the run says it must be there
/// (CI sets PASTICHE_REQUIRE_REFERENCE=1; the MPI tests look at PASTICHE_REQUIRE_MPI).
public let requireReferenceVariable = "PASTICHE_REQUIRE_REFERENCE"

/// Whether `variable` is "1" in this process's environment.
public func isRequired(_ variable: String = requireReferenceVariable) -> Bool {
    ProcessInfo.processInfo.environment[variable] == "1"
}

/// Ends the test for want of something: a failure (XCTFail) and then the skip when `variable` is
/// "1" (or `required` says so), only the skip otherwise. Always throws.
public func skipOrRequire(_ why: String, variable: String = requireReferenceVariable, required: Bool? = nil,
                          file: StaticString = #filePath, line: UInt = #line) throws -> Never {
    if required ?? isRequired(variable) { XCTFail(why, file: file, line: line) }
    throw XCTSkip(why, file: file, line: line)
}
