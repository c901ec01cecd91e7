import Foundation
import XCTest
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTestSupport
#if canImport(Glibc)
import Glibc
#endif

// End-to-end tests of the `pastiche` executable: every test runs the real binary (built beside
// this test bundle by `swift build --product pastiche`) on real image files, with a temporary
// `--library` so no user library is ever touched.

/// What one run of `pastiche` (or of mpirun running it) produced.
typealias CLIResult = ProcessResult
/// A `pastiche` process started by `CLI.start`.
typealias RunningCLI = RunningProcess

enum CLI {
    /// `pastiche` in the directory of the running test executable (its real path).
    static var binaryPath: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let dir = URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent()
        return dir.appendingPathComponent("pastiche").path
    }

    /// The real Pastiche home: its fetched model is what the CLI loads by default.
    static var home: PasticheHome { PasticheHome() }
    static var modelPath: String { home.defaultModel }

    static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["PASTICHE_HOME"] = home.path
        return env
    }

    /// The repository root, from this file's location (Tests/PasticheCLITests/Support.swift).
    static let repoRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Starts `pastiche arguments` with stdout and stderr going to files in `scratch`.
    static func start(_ arguments: [String], scratch: String, stdin: String? = nil,
                      environment extra: [String: String] = [:], directory: String? = nil) throws -> RunningCLI {
        try ProcessRunner.start(binaryPath, arguments, environment: environment.merging(extra) { $1 },
                                stdin: stdin, directory: directory, outputDirectory: scratch)
    }

    static func run(_ arguments: [String], scratch: String) throws -> CLIResult {
        try start(arguments, scratch: scratch).wait()
    }
}

/// Base class: checks the binary and model, gives each test a scratch directory and a library
/// path inside it, and wraps the common CLI calls.
class CLITestCase: XCTestCase {
    var scratch = ""
    /// `--library` for this test (created by the CLI on first write).
    var library: String { scratch + "/library" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard FileManager.default.isExecutableFile(atPath: CLI.binaryPath) else {
            try skipOrRequire("""
                no pastiche binary at \(CLI.binaryPath); build it into the same directory first: \
                swift build -c release --product pastiche -Xswiftc -enable-testing (with the same --scratch-path)
                """, required: true)
        }
        if !FileManager.default.fileExists(atPath: CLI.modelPath) {
            try skipOrRequire("no model at \(CLI.modelPath); run `pastiche model fetch` (PASTICHE_HOME=\(CLI.home.path))")
        }
        scratch = try temporaryDirectory("pastiche-cli")
    }

    /// Runs pastiche (adding `--library` when `withLibrary`) and returns the result.
    @discardableResult
    func pastiche(_ args: [String], library lib: String? = nil, withLibrary: Bool = true) throws -> CLIResult {
        try CLI.run(withLibrary ? args + ["--library", lib ?? library] : args, scratch: scratch)
    }

    /// Runs pastiche and fails the test unless it exits 0.
    @discardableResult
    func ok(_ args: [String], library lib: String? = nil, withLibrary: Bool = true,
            file: StaticString = #filePath, line: UInt = #line) throws -> CLIResult {
        let r = try pastiche(args, library: lib, withLibrary: withLibrary)
        XCTAssertEqual(r.status, 0, r.summary, file: file, line: line)
        return r
    }

    /// Runs pastiche expecting failure: non-zero exit and exactly one stderr line. Returns that line.
    @discardableResult
    func fails(_ args: [String], library lib: String? = nil, withLibrary: Bool = true,
               file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try pastiche(args, library: lib, withLibrary: withLibrary)
        XCTAssertNotEqual(r.status, 0, "expected failure: " + r.summary, file: file, line: line)
        XCTAssertFalse(r.signaled, "crashed: " + r.summary, file: file, line: line)
        XCTAssertEqual(r.stderrLines.count, 1, "expected exactly one stderr line: " + r.summary, file: file, line: line)
        XCTAssertTrue(r.stderr.hasSuffix("\n"), "stderr line should end in a newline: " + r.summary, file: file, line: line)
        return r.stderrLines.first ?? ""
    }

    /// Each command of `cases` fails with one line (`fails`) that contains its expected text.
    func assertEachFails(_ cases: [([String], String)], withLibrary: (_ args: [String]) -> Bool = { _ in true },
                         file: StaticString = #filePath, line: UInt = #line) throws {
        for (args, expected) in cases {
            let got = try fails(args, withLibrary: withLibrary(args), file: file, line: line)
            XCTAssertTrue(got.contains(expected), "`\(args.joined(separator: " "))`: \(got)", file: file, line: line)
        }
    }

    // MARK: Library views

    func json(_ r: CLIResult, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        do { return try JSONSerialization.jsonObject(with: r.stdout) } catch {
            XCTFail("stdout of `\(r.command)` is not JSON: \(r.stdoutText.prefix(300))", file: file, line: line)
            throw error
        }
    }

    /// `embed list --json` as dictionaries.
    func list(tag: String? = nil, library lib: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let r = try ok(["embed", "list", "--json"] + (tag.map { ["--tag", $0] } ?? []), library: lib, file: file, line: line)
        guard let a = try json(r, file: file, line: line) as? [[String: Any]] else {
            XCTFail("`embed list --json` is not an array of objects", file: file, line: line); return []
        }
        return a
    }

    func names(tag: String? = nil, library lib: String? = nil) throws -> [String] {
        try list(tag: tag, library: lib).compactMap { $0["name"] as? String }
    }

    /// `embed show NAME --json --vector` as a dictionary.
    func show(_ name: String, library lib: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try ok(["embed", "show", name, "--json", "--vector"], library: lib, file: file, line: line)
        guard let d = try json(r, file: file, line: line) as? [String: Any] else {
            XCTFail("`embed show --json` is not an object", file: file, line: line); return [:]
        }
        return d
    }

    func vector(_ name: String, library lib: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
        let d = try show(name, library: lib, file: file, line: line)
        guard let v = d["embedding"] as? [NSNumber] else {
            XCTFail("`embed show \(name) --json --vector` has no embedding array", file: file, line: line); return []
        }
        return v.map { $0.floatValue }
    }

    /// `embed export -` bytes (the library's complete, bit-exact state).
    func export(library lib: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        try ok(["embed", "export", "-"], library: lib, file: file, line: line).stdout
    }

    // MARK: Files

    /// Decodes an image written by the CLI.
    func decode(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> RGBImage {
        do { return try ImageIO.read(path: path) } catch {
            XCTFail("cannot decode \(path): \(error)", file: file, line: line); throw error
        }
    }

    /// A repository image shrunk (long side `maxSide`) and written as PNG into the scratch folder.
    func smallCopy(of repoPath: String, as name: String, maxSide: Int) throws -> String {
        let image = try ImageIO.read(path: CLI.repoRoot + "/" + repoPath).resizedToFit(maxSide: maxSide)
        let out = scratch + "/" + name
        try ImageIO.write(image, to: out)
        return out
    }

    /// Two small style images (vangogh.png, hokusai.png) and a small photo (cat.png).
    func styleAndPhoto() throws -> (vangogh: String, hokusai: String, photo: String) {
        (try smallCopy(of: "styles/s01_vangogh_starry_night.jpg", as: "vangogh.png", maxSide: 300),
         try smallCopy(of: "styles/s03_hokusai_great_wave.png", as: "hokusai.png", maxSide: 300),
         try smallCopy(of: "docs/images/chelsea_cat.png", as: "cat.png", maxSide: 96))
    }

    /// `count` distinct noise-and-gradient images, `side`×`side`, PNG, in `folder`.
    @discardableResult
    func noiseImages(count: Int, in folder: String, prefix: String, seed: UInt64, side: Int = 64) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: seed)
        return try (0..<count).map { i in
            var img = RGBImage(width: side, height: side)
            let tint = (Float(rng.next() % 256) / 255, Float(rng.next() % 256) / 255, Float(rng.next() % 256) / 255)
            for y in 0..<side {
                for x in 0..<side {
                    let g = Float(x + y) / Float(2 * side)
                    let n = { Float(rng.next() % 64) / 255 }
                    img.setPixel(x: x, y: y, (min(1, tint.0 * g + n()), min(1, tint.1 * (1 - g) + n()), min(1, tint.2 * 0.5 + n())))
                }
            }
            let path = folder + "/\(prefix)-" + String(format: "%03d", i) + ".png"
            try ImageIO.write(img, to: path)
            return path
        }
    }
}
